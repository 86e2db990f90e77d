/**
 * npm run bench:retention: what retention of the oldest month of GPS points costs, the old way
 * (batched DELETEs on one plain table, as before migration 0017) and the new one (dropping the
 * month's partition), on BENCH_RETENTION_POINTS points (10 million) spread evenly over 60 days.
 *
 * Both runs remove the same rows: everything recorded before the start of the data's second
 * month, i.e. the first month (about 30 days, half the points). The data starts at the beginning
 * of a past month so that the cutoff falls on a partition boundary: with partitions, a month is
 * dropped only once all of it is past the retention (docs/operations.md, "Partitions"); the old
 * DELETE would remove rows to the day, which this comparison does not count in its favour.
 *
 * Prints, for each: the time taken, the table's size (pg_total_relation_size, indexes included)
 * and the database's (pg_database_size) before, after, and after a plain VACUUM (what
 * autovacuum would do). Everything runs in a scratch database, dropped at the end.
 *
 * Options (environment): BENCH_RETENTION_POINTS=10000000, DATABASE_URL (server to use).
 */
import { dropDatabase, withAdminConnection } from '../db/ensure-database.js';
import { createDb, type Db } from '../db/knex.js';
import { dropPartitionsBefore, ensureMonthPartitions, listPartitions, monthStart } from '../db/partitions.js';
import { deleteRecordedBefore } from '../db/retention.js';
import { ensurePostgres } from '../lib/local-services.js';
import { freshDatabase } from './bench/fixtures.js';

const POINTS = Number(process.env.BENCH_RETENTION_POINTS ?? 10_000_000);
const DAYS = 60;
const BASE_DB = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCRATCH = 'uvis_bench_retention';
const DAY = 86_400_000;

// Rounded to whole MB; a few kB either way (a VACUUM's free-space map) print as 0, not -0.
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024) || 0} MB`;

async function sizes(db: Db, table: string): Promise<{ table: number; database: number }> {
  const { rows } = await db.raw(
    `select coalesce((select sum(pg_total_relation_size(c.oid)) from pg_class c
              where c.oid = ?::regclass or c.oid in (select inhrelid from pg_inherits where inhparent = ?::regclass)), 0)::bigint as t,
            pg_database_size(current_database())::bigint as d`,
    [table, table],
  );
  return { table: Number(rows[0].t), database: Number(rows[0].d) };
}

/** 10 million rows over 60 days from one INSERT ... SELECT generate_series: 100 drivers, one point each every ~52 s. */
async function fill(db: Db, table: string, start: Date): Promise<void> {
  await db.raw(
    `insert into ?? (driver_id, vehicle_id, latitude, longitude, speed_kmh, heading_deg, accuracy_m, recorded_at, received_at, point_key)
     select 1 + i % 100, null, 37.5 + (i % 1000) / 10000.0, 127 + (i % 997) / 10000.0, 40, 90, 5,
            ?::timestamptz + (i * (? / ?::float8)) * interval '1 millisecond',
            ?::timestamptz + (i * (? / ?::float8)) * interval '1 millisecond',
            't:' || i
       from generate_series(0, ? - 1) i`,
    [table, start, DAYS * DAY, POINTS, start, DAYS * DAY, POINTS, POINTS],
  );
  await db.raw(`vacuum analyze ??`, [table]);
}

async function measure(db: Db, table: string, label: string, retain: () => Promise<string>): Promise<void> {
  const before = await sizes(db, table);
  const started = performance.now();
  const what = await retain();
  const seconds = (performance.now() - started) / 1000;
  const after = await sizes(db, table);
  await db.raw(`vacuum ??`, [table]);
  const vacuumed = await sizes(db, table);
  const freed = (s: { table: number; database: number }) => `table ${mb(before.table - s.table)}, database ${mb(before.database - s.database)}`;
  process.stdout.write(
    `${label}: ${what} in ${seconds.toFixed(2)} s\n` +
      `  table ${mb(before.table)} -> ${mb(after.table)} (after VACUUM ${mb(vacuumed.table)}); database ${mb(before.database)} -> ${mb(after.database)} (after VACUUM ${mb(vacuumed.database)})\n` +
      `  freed: ${freed(after)}; after VACUUM: ${freed(vacuumed)}\n`,
  );
}

async function main(): Promise<void> {
  await ensurePostgres(BASE_DB);
  const db = createDb({ url: await freshDatabase(BASE_DB, SCRATCH, { demoData: false }), poolMin: 0, poolMax: 2, statementTimeoutMs: 3_600_000 });
  try {
    await db.raw(`insert into drivers (name) select 'bench ' || i from generate_series(1, 100) i`);
    const start = monthStart(new Date(Date.now() - 100 * DAY));
    const cutoff = monthStart(start, 1);
    const cut = async (table: string) =>
      Number((await db.raw(`select count(*)::bigint as n from ?? where recorded_at < ?`, [table, cutoff])).rows[0].n).toLocaleString('en');
    process.stdout.write(
      `${POINTS.toLocaleString('en')} GPS points over ${DAYS} days from ${start.toISOString().slice(0, 10)}; retention removes everything before ${cutoff.toISOString().slice(0, 10)} (${(cutoff.getTime() - start.getTime()) / DAY} days)\n`,
    );

    // Before: one plain table shaped as migration 0001 made vehicle_locations, and the old batched DELETE.
    await db.raw(`
      create table plain_locations (like vehicle_locations including defaults);
      alter table plain_locations add primary key (id);
      create sequence plain_locations_id_seq owned by plain_locations.id;
      alter table plain_locations alter column id set default nextval('plain_locations_id_seq');
      create unique index plain_locations_driver_point_key on plain_locations (driver_id, point_key);
      create index plain_locations_driver_recorded_idx on plain_locations (driver_id, recorded_at, id);
      create index plain_locations_recorded_brin on plain_locations using brin (recorded_at);`);
    let started = performance.now();
    await fill(db, 'plain_locations', start);
    process.stdout.write(`loaded the plain table in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    const plainRows = await cut('plain_locations');
    await measure(
      db,
      'plain_locations',
      'DELETE (before)',
      async () => `${(await deleteRecordedBefore(db, 'plain_locations', cutoff)).toLocaleString('en')} rows deleted of ${plainRows}`,
    );
    await db.raw(`drop table plain_locations`);

    // After: the partitioned table, its months created as the maintenance job creates them ahead.
    await ensureMonthPartitions(db, 'vehicle_locations', start, 4);
    started = performance.now();
    await fill(db, 'vehicle_locations', start);
    process.stdout.write(`loaded the partitioned table in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    const partitionRows = await cut('vehicle_locations');
    const partitionsBefore = (await listPartitions(db, 'vehicle_locations')).length;
    await measure(db, 'vehicle_locations', 'DROP PARTITION (after)', async () => {
      const result = await dropPartitionsBefore(db, 'vehicle_locations', cutoff);
      return `${result.partitionsDropped.join(', ')} dropped (${partitionRows} rows; ${partitionsBefore} partitions before), ${result.rowsDeleted} rows deleted elsewhere`;
    });
  } finally {
    await db.destroy();
    await withAdminConnection(BASE_DB, (client) => dropDatabase(client, SCRATCH));
  }
}

await main();
