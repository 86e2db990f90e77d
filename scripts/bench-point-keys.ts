/**
 * npm run bench:point-keys: what keeping a point id unique across month partitions costs the GPS
 * writer (db/locations.ts insertPoints). A point keyed by its time (`t:`) is kept once by the
 * unique index alone; one keyed by a point id (`k:`) or by its job (`j:`) is first looked up in
 * every partition (one index probe each) under a per-driver lock.
 *
 * In a scratch database (dropped at the end): BENCH_POINT_KEYS_MONTHS past months (6) of
 * BENCH_POINT_KEYS_PER_MONTH points (200,000) each, plus the current month and three ahead, then
 * BENCH_POINT_KEYS_ROUNDS rounds (4), each storing 40 batches of 1,000 new points keyed by time,
 * then 40 keyed by job, alternating so that the machine's drift hits both. Prints µs per point
 * for each round and the median of each kind.
 */
import { dropDatabase, withAdminConnection } from '../db/ensure-database.js';
import { createDb } from '../db/knex.js';
import { insertPoints, type PointRow } from '../db/locations.js';
import { ensureMonthPartitions, listPartitions, monthStart } from '../db/partitions.js';
import { ensurePostgres } from '../lib/local-services.js';
import { freshDatabase } from './bench/fixtures.js';

const MONTHS = Number(process.env.BENCH_POINT_KEYS_MONTHS ?? 6);
const PER_MONTH = Number(process.env.BENCH_POINT_KEYS_PER_MONTH ?? 200_000);
const ROUNDS = Number(process.env.BENCH_POINT_KEYS_ROUNDS ?? 4);
const BATCHES = 40;
const BATCH = 1000;
const BASE_DB = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCRATCH = 'uvis_bench_point_keys';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  await ensurePostgres(BASE_DB);
  const db = createDb({ url: await freshDatabase(BASE_DB, SCRATCH, { demoData: false }), poolMin: 0, poolMax: 2, statementTimeoutMs: 3_600_000 });
  try {
    await db.raw(`insert into drivers (name) select 'bench ' || i from generate_series(1, 100) i`);
    const first = monthStart(new Date(), -MONTHS);
    await ensureMonthPartitions(db, 'vehicle_locations', first, MONTHS);
    const spacingMs = (monthStart(new Date()).getTime() - first.getTime()) / (MONTHS * PER_MONTH);
    await db.raw(
      `insert into vehicle_locations (driver_id, latitude, longitude, recorded_at, received_at, point_key)
       select 1 + i % 100, 37.5, 127, ?::timestamptz + (i * ?::float8) * interval '1 millisecond', now(), 'j:old-' || i
         from generate_series(0, ? - 1) i`,
      [first, spacingMs, MONTHS * PER_MONTH],
    );
    await db.raw('vacuum analyze vehicle_locations');
    const partitions = (await listPartitions(db, 'vehicle_locations')).length;
    process.stdout.write(`${(MONTHS * PER_MONTH).toLocaleString('en')} points in ${MONTHS} past months; ${partitions} partitions\n`);
    const timings: Record<'t' | 'j', number[]> = { t: [], j: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const kind of ['t', 'j'] as const) {
        const started = performance.now();
        for (let b = 0; b < BATCHES; b++) {
          const rows: PointRow[] = Array.from({ length: BATCH }, (_, i) => {
            const at = new Date(Date.now() - 60_000 + i);
            const key = kind === 't' ? `t:${at.toISOString()}:${round}:${b}:${i}` : `j:${round}-${b}:${i}`;
            return {
              driver_id: 1 + (i % 100),
              latitude: 37.5,
              longitude: 127,
              speed_kmh: null,
              heading_deg: null,
              accuracy_m: null,
              recorded_at: at,
              received_at: at,
              point_key: key,
            };
          });
          await db.transaction((trx) => insertPoints(trx, rows));
        }
        const perPoint = ((performance.now() - started) * 1000) / (BATCHES * BATCH);
        timings[kind].push(perPoint);
        process.stdout.write(`round ${round}, keyed by ${kind === 't' ? 'time' : 'job'}: ${perPoint.toFixed(1)} µs a point\n`);
      }
    }
    process.stdout.write(`median: keyed by time ${median(timings.t).toFixed(1)} µs a point, keyed by job ${median(timings.j).toFixed(1)} µs a point\n`);
  } finally {
    await db.destroy();
    await withAdminConnection(BASE_DB, (client) => dropDatabase(client, SCRATCH));
  }
}

await main();
