/**
 * Month partitions of the telemetry tables (GPS points, temperature readings), managed natively
 * (declarative partitioning, no extension): the maintenance job creates the coming months ahead
 * and retention drops whole months (docs/operations.md, "Partitions").
 *
 * Each table has, besides its month partitions (`<table>_YYYY_MM`, UTC months):
 * - `<table>_default`, the DEFAULT partition: a row for a month whose partition does not exist
 *   (the maintenance job was down for months, or a point from before the first month) is stored
 *   there rather than refused. Creating that month's partition later moves those rows into it.
 * - `<table>_legacy`, on a database migrated from the unpartitioned table: the old table itself,
 *   attached as the partition of everything before the first month (migration 0017).
 * The default and legacy partitions are trimmed by batched DELETEs past the cutoff, as the
 * whole table was before; month partitions are only ever dropped whole.
 */
import type { Db, Trx } from './knex.js';
import { deleteRecordedBefore } from './retention.js';

export const PARTITIONED_TABLES = ['vehicle_locations', 'temperature_readings'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

/** Months created ahead of the current one: the daily job can miss a quarter before a row reaches the default partition. */
export const MONTHS_AHEAD = 3;

export interface Partition {
  name: string;
  /** Lower bound (inclusive); null for MINVALUE (the legacy partition) and the default partition. */
  from: Date | null;
  /** Upper bound (exclusive); null for the default partition. */
  to: Date | null;
  isDefault: boolean;
}

/** The first instant of the UTC month `offset` months after the one holding `at`. */
export function monthStart(at: Date, offset = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

/** `vehicle_locations_2026_12` for December 2026. */
export function monthPartitionName(table: PartitionedTable, month: Date): string {
  return `${table}_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Partitions of `table` in bound order (default last), bounds read back from the catalogue. */
export async function listPartitions(db: Db | Trx, table: PartitionedTable): Promise<Partition[]> {
  // pg_get_expr prints the bounds as literals with their UTC offset; cast back in the same statement,
  // they are exact whatever the session's time zone or date style.
  const { rows } = await db.raw(
    `select c.relname as name, b.bound = 'DEFAULT' as is_default,
            (regexp_match(b.bound, 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz as "from",
            (regexp_match(b.bound, 'TO \\(''([^'']+)''\\)'))[1]::timestamptz as "to"
       from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       cross join lateral (select pg_get_expr(c.relpartbound, c.oid) as bound) b
      where i.inhparent = ?::regclass
      order by b.bound = 'DEFAULT', 4 nulls last`,
    [table],
  );
  return (rows as { name: string; is_default: boolean; from: Date | null; to: Date | null }[]).map((r) => ({
    name: r.name,
    from: r.from,
    to: r.to,
    isDefault: r.is_default,
  }));
}

/** Serialises partition maintenance of one table (the migration, several workers' jobs): a transaction lock. */
async function lockPartitionMaintenance(trx: Trx, table: PartitionedTable): Promise<void> {
  await trx.raw(`select pg_advisory_xact_lock(hashtext('uvis.partitions.' || ?))`, [table]);
}

/**
 * Runs `work` in a transaction that gives up on a lock after `lockTimeoutMs` rather than queue
 * behind a long query (every read of the table would then queue behind it), and tries again.
 */
async function withShortLocks<T>(db: Db, work: (trx: Trx) => Promise<T>, { lockTimeoutMs = 3000, attempts = 5 } = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (trx) => {
        await trx.raw(`select set_config('lock_timeout', ?, true)`, [`${lockTimeoutMs}ms`]);
        return work(trx);
      });
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03' || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/**
 * Creates the month partitions of `table` from the month of `now` to MONTHS_AHEAD months after it
 * that do not exist yet (idempotent; months the legacy partition covers are skipped). Rows the
 * default partition holds for such a month are moved into it in the same transaction: PostgreSQL
 * refuses to create a partition whose rows sit in the default one. Returns the names created.
 */
export async function ensureMonthPartitions(db: Db, table: PartitionedTable, now = new Date(), monthsAhead = MONTHS_AHEAD): Promise<string[]> {
  const created: string[] = [];
  for (let offset = 0; offset <= monthsAhead; offset++) {
    const from = monthStart(now, offset);
    const to = monthStart(now, offset + 1);
    const name = await withShortLocks(db, async (trx) => {
      await lockPartitionMaintenance(trx, table);
      const existing = await listPartitions(trx, table);
      const overlaps = existing.some((p) => !p.isDefault && (p.from === null || p.from < to) && p.to !== null && p.to > from);
      if (overlaps) return null;
      const partition = monthPartitionName(table, from);
      const fallback = existing.find((p) => p.isDefault)?.name;
      const range = [from.toISOString(), to.toISOString()];
      // DDL takes no bind parameters: the bounds are inlined (ISO strings this code made).
      const createSql = `create table ?? partition of ?? for values from ('${range[0]}') to ('${range[1]}')`;
      const stranded = fallback
        ? (await trx.raw(`select exists (select 1 from ?? where recorded_at >= ? and recorded_at < ?) as found`, [fallback, ...range])).rows[0].found
        : false;
      if (!stranded) {
        await trx.raw(createSql, [partition, table]);
        return partition;
      }
      // Out of the default partition, into a scratch table dropped at commit, then into the new partition.
      await trx.raw(`create temporary table partition_move (like ??) on commit drop`, [table]);
      await trx.raw(`with moved as (delete from ?? where recorded_at >= ? and recorded_at < ? returning *) insert into partition_move select * from moved`, [
        fallback!,
        ...range,
      ]);
      await trx.raw(createSql, [partition, table]);
      // Through the parent (it routes them to the new partition and owns the identity column).
      await trx.raw(`insert into ?? overriding system value select * from partition_move`, [table]);
      return partition;
    });
    if (name) created.push(name);
  }
  return created;
}

export interface RetentionResult {
  /** Month (or legacy) partitions dropped whole: every row in them was recorded before the cutoff. */
  partitionsDropped: string[];
  /** Rows deleted from the default and legacy partitions. */
  rowsDeleted: number;
}

/**
 * Retention by partition: drops every partition whose whole range is before `cutoff` (a partition
 * holding any row at or after it is kept whole, so a month partition is dropped once its last
 * instant is past the cutoff: rows live at least the retention, at most one month more). The
 * default and legacy partitions, which span many months, are trimmed row by row in batches.
 */
export async function dropPartitionsBefore(db: Db, table: PartitionedTable, cutoff: Date, batchSize = 10_000): Promise<RetentionResult> {
  const partitionsDropped: string[] = [];
  for (const partition of await listPartitions(db, table)) {
    if (partition.isDefault || partition.to === null || partition.to > cutoff) continue;
    // DROP takes an ACCESS EXCLUSIVE lock on the parent table for an instant: given up and retried if a long query holds it.
    const dropped = await withShortLocks(db, async (trx) => {
      await lockPartitionMaintenance(trx, table);
      const still = (await listPartitions(trx, table)).some((p) => p.name === partition.name);
      if (still) await trx.raw(`drop table ??`, [partition.name]);
      return still;
    });
    if (dropped) partitionsDropped.push(partition.name);
  }
  let rowsDeleted = 0;
  for (const partition of await listPartitions(db, table)) {
    if (!partition.isDefault && partition.from !== null) continue;
    rowsDeleted += await deleteRecordedBefore(db, partition.name, cutoff, batchSize);
  }
  return { partitionsDropped, rowsDeleted };
}
