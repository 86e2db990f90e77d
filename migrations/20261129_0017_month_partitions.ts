import type { Knex } from 'knex';
import type pg from 'pg';

/**
 * GPS points (vehicle_locations) and temperature readings (temperature_readings) become tables
 * partitioned by month on recorded_at (issue 19): retention drops a whole month instead of
 * deleting rows one by one (db/partitions.ts, docs/operations.md "Partitions").
 *
 * How the data moves, without a pause for reads: it does not move. The old table is attached,
 * as it is, as the partition `<table>_legacy` of everything before `boundary` (the first month
 * starting at least a day from now). Copying months of rows into a new table instead would take
 * minutes, double the disk for a while, and miss what is written meanwhile (a temperature
 * reading is updated in place when a warmer one for the same instant arrives). Attaching is
 * instant once PostgreSQL can prove the old rows fit the range without reading them, hence the
 * steps:
 *  1. While reads and writes go on: a CHECK (recorded_at < boundary) constraint added NOT VALID
 *     (an instant's lock) then VALIDATEd (a scan that blocks neither reads nor writes), and the
 *     indexes the partitioned table needs that the old one lacks (they must contain the
 *     partition key) built CONCURRENTLY.
 *  2. One short transaction: rename the old table to `<table>_legacy`, create the partitioned
 *     table with the old name, attach the legacy table (its CHECK constraint proves the range,
 *     its indexes and foreign keys match the parent's and are attached, not rebuilt), create the
 *     DEFAULT partition and the month partitions from `boundary` to three months ahead. Reads and
 *     writes wait for this transaction only (milliseconds); it gives up on its locks after 5 s and
 *     tries again rather than queue every read behind a long query.
 * An empty old table (a new database) is dropped instead, and the month partitions start at the
 * current month. The legacy partition is trimmed by batched deletes, as the table was, and dropped
 * once its whole range is past the retention.
 *
 * Keys: a partitioned table's unique keys must contain the partition key, so the primary keys
 * on id become unique indexes on (id, recorded_at) (ids stay unique: one identity sequence,
 * continued from the old one). An index, not a PRIMARY KEY constraint: `pg_restore --clean`
 * (backups/restore.ts) cannot drop a partition's inherited primary key constraint on
 * PostgreSQL 15 and the restore fails; a unique index over NOT NULL columns guarantees the same.
 * The GPS points' (driver_id, point_key) becomes (driver_id, point_key, recorded_at). A `t:<time>`
 * key is made from the recorded_at, so nothing changes for it; a `k:<point_id>` or `j:<job>:<i>`
 * point may come again with another receipt time, and db/locations.ts insertPoints keeps it
 * stored once across partitions (a lookup under a per-driver lock).
 * temperature_readings' (vehicle_id, sensor, recorded_at) already contains it. No foreign key
 * references either table.
 */
export const config = { transaction: false };

const MONTHS_AHEAD = 3;

interface TableShape {
  name: 'vehicle_locations' | 'temperature_readings';
  identity: 'always' | 'by default';
  /** Columns and constraints after `id`, as in the old table, constraints named as PostgreSQL named them there (attaching matches CHECK constraints by name). */
  columns: string;
  /** Indexes of the partitioned table: name -> definition after `on <table>`. The old table gets a `<table>_legacy_` copy of each. */
  indexes: Record<string, string>;
  /** Those of the indexes the old table has not in that shape: built on it CONCURRENTLY before the swap (an old index of the same name is dropped in the swap). */
  rebuilt: string[];
}

const TABLES: TableShape[] = [
  {
    name: 'vehicle_locations',
    identity: 'always',
    columns: `
      driver_id bigint not null constraint vehicle_locations_driver_id_fkey references drivers (id),
      vehicle_id bigint constraint vehicle_locations_vehicle_id_fkey references vehicles (id),
      latitude double precision not null,
      longitude double precision not null,
      speed_kmh real,
      heading_deg real,
      accuracy_m real,
      recorded_at timestamptz not null,
      received_at timestamptz not null,
      point_key text not null,
      stored_at timestamptz not null default now()`,
    indexes: {
      vehicle_locations_id_recorded_key: 'unique (id, recorded_at)',
      vehicle_locations_driver_point_key: 'unique (driver_id, point_key, recorded_at)',
      vehicle_locations_driver_recorded_idx: '(driver_id, recorded_at, id)',
      vehicle_locations_recorded_brin: 'using brin (recorded_at)',
    },
    rebuilt: ['vehicle_locations_id_recorded_key', 'vehicle_locations_driver_point_key'],
  },
  {
    name: 'temperature_readings',
    identity: 'by default',
    columns: `
      vehicle_id bigint not null constraint temperature_readings_vehicle_id_fkey references vehicles (id),
      dispatch_id bigint constraint temperature_readings_dispatch_id_fkey references dispatches (id),
      sensor text not null default 'main' constraint temperature_readings_sensor_check check (length(sensor) between 1 and 50),
      recorded_at timestamptz not null,
      temperature_c numeric(5, 2) not null constraint temperature_readings_temperature_c_check check (temperature_c between -60 and 60),
      setpoint_c numeric(5, 2) constraint temperature_readings_setpoint_c_check check (setpoint_c between -60 and 60),
      door_open boolean,
      source text not null constraint temperature_readings_source_check check (source in ('driver', 'gateway')),
      received_at timestamptz not null default now()`,
    indexes: {
      temperature_readings_id_recorded_key: 'unique (id, recorded_at)',
      temperature_readings_vehicle_sensor_time_key: 'unique (vehicle_id, sensor, recorded_at)',
      temperature_readings_dispatch_recorded_idx: '(dispatch_id, recorded_at, id) where dispatch_id is not null',
      temperature_readings_recorded_brin: 'using brin (recorded_at)',
    },
    rebuilt: ['temperature_readings_id_recorded_key'],
  },
];

function monthStart(at: Date, offset = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

const monthName = (table: string, month: Date) => `${table}_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
const index = (definition: string) => definition.replace(/^unique /, '');
const isUnique = (definition: string) => definition.startsWith('unique ');
const legacyName = (table: TableShape, indexName: string) => indexName.replace(table.name, `${table.name}_legacy`);

/**
 * Step 1 on a connection of its own: no statement timeout for the scans (minutes at tens of millions
 * of rows, over DB_STATEMENT_TIMEOUT_MS), and CONCURRENTLY needs autocommit, so the timeout is lifted
 * for the session and reset after. Run this migration on a direct connection to PostgreSQL: behind
 * PgBouncer in transaction mode a session SET is not kept between statements (docs/operations.md).
 */
async function prepareOldTable(conn: pg.Client, table: TableShape, boundary: Date): Promise<void> {
  const { name } = table;
  const has = async (sql: string, values: unknown[]) => (await conn.query(sql, values)).rowCount! > 0;
  if (!(await has(`select 1 from pg_constraint where conrelid = $1::regclass and conname = $2`, [name, `${name}_legacy_range`]))) {
    await conn.query(`alter table ${name} add constraint ${name}_legacy_range check (recorded_at < '${boundary.toISOString()}') not valid`);
  }
  await conn.query(`alter table ${name} validate constraint ${name}_legacy_range`);
  for (const [indexName, definition] of table.rebuilt.map((n) => [legacyName(table, n), table.indexes[n]!] as const)) {
    // An index left INVALID by an interrupted run is dropped and built again.
    const found = (await conn.query(`select indisvalid from pg_index where indexrelid = to_regclass($1)`, [indexName])).rows[0] as
      { indisvalid: boolean } | undefined;
    if (found?.indisvalid) continue;
    if (found) await conn.query(`drop index concurrently ${indexName}`);
    await conn.query(`create ${isUnique(definition) ? 'unique ' : ''}index concurrently ${indexName} on ${name} ${index(definition)}`);
  }
}

/** Step 2, in one transaction: the swap. */
async function swap(trx: Knex.Transaction, table: TableShape, boundary: Date, now: Date): Promise<void> {
  const { name } = table;
  await trx.raw(`set local lock_timeout = '5s'`);
  await trx.raw(`lock table ${name} in access exclusive mode`);
  const empty = (await trx.raw(`select not exists (select 1 from ${name}) as empty`)).rows[0].empty as boolean;
  const sequence = (await trx.raw(`select pg_get_serial_sequence(?, 'id') as seq`, [name])).rows[0].seq as string;
  const { last_value: last, is_called: called } = (await trx.raw(`select last_value, is_called from ${sequence}`)).rows[0];
  const next = Number(last) + (called ? 1 : 0);
  let first = monthStart(now);
  if (empty) {
    await trx.raw(`drop table ${name}`);
  } else {
    first = boundary;
    await trx.raw(`alter table ${name} rename to ${name}_legacy`);
    await trx.raw(`alter table ${name}_legacy alter column id drop identity`);
    // The parent's indexes take the old names; the legacy table keeps equivalent ones, attached below without a rebuild.
    await trx.raw(`alter table ${name}_legacy drop constraint ${name}_pkey`);
    for (const indexName of Object.keys(table.indexes)) {
      if (table.rebuilt.includes(indexName)) await trx.raw(`drop index if exists ${indexName}`);
      else await trx.raw(`alter index ${indexName} rename to ${legacyName(table, indexName)}`);
    }
  }
  await trx.raw(`
    create table ${name} (
      id bigint generated ${table.identity} as identity (start with ${next}),
      ${table.columns}
    ) partition by range (recorded_at)`);
  for (const [indexName, definition] of Object.entries(table.indexes)) {
    await trx.raw(`create ${isUnique(definition) ? 'unique ' : ''}index ${indexName} on ${name} ${index(definition)}`);
  }
  if (!empty) {
    await trx.raw(`alter table ${name} attach partition ${name}_legacy for values from (minvalue) to ('${boundary.toISOString()}')`);
    await trx.raw(`alter table ${name}_legacy drop constraint ${name}_legacy_range`);
  }
  await trx.raw(`create table ${name}_default partition of ${name} default`);
  for (let month = first; month < monthStart(now, MONTHS_AHEAD + 1); month = monthStart(month, 1)) {
    await trx.raw(
      `create table ${monthName(name, month)} partition of ${name} for values from ('${month.toISOString()}') to ('${monthStart(month, 1).toISOString()}')`,
    );
  }
}

export async function up(knex: Knex): Promise<void> {
  const now = new Date();
  // A day of margin: a row recorded up to a day ahead (clocks; the API allows 5 minutes) still fits the old table until the swap.
  const boundary = monthStart(new Date(now.getTime() + 86_400_000), 1);
  for (const table of TABLES) {
    const kind = (await knex.raw(`select relkind from pg_class where oid = to_regclass(?)`, [table.name])).rows[0]?.relkind;
    if (kind === 'p') continue; // done by an earlier, interrupted run
    const conn = (await knex.client.acquireConnection()) as pg.Client;
    try {
      await conn.query(`set statement_timeout = 0`);
      await prepareOldTable(conn, table, boundary);
    } finally {
      await conn.query(`reset statement_timeout`).catch(() => {});
      await knex.client.releaseConnection(conn);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await knex.transaction((trx) => swap(trx, table, boundary, now));
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03' || attempt >= 10) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
