/** GPS points: batched inserts for the worker, per-driver replay for dispatchers (retention: db/partitions.ts). */
import { decodeTimeCursor, page, timeCursorColumn } from './cursor.js';
import type { Knex } from 'knex';
import { ACTIVE_STATUSES_SQL } from './dispatches.js';
import type { Db, Trx } from './knex.js';

export interface PointRow {
  driver_id: number;
  latitude: number;
  longitude: number;
  speed_kmh: number | null;
  heading_deg: number | null;
  accuracy_m: number | null;
  recorded_at: Date;
  received_at: Date;
  point_key: string;
}

/**
 * Inserts many points in one statement (arrays unnested server-side: one round trip,
 * one plan, any batch size). A point already stored is skipped, which makes a retried job
 * harmless: the same (driver, point_key) is the same point. Each point's vehicle is the one on
 * the driver's active dispatch, else the driver's usual one. Returns how many rows were new.
 *
 * The table is partitioned by month on recorded_at, and a unique index of a partitioned table
 * must contain the partition key: the index is (driver_id, point_key, recorded_at). A `t:<time>`
 * key is made from the recorded_at, so the index alone keeps such points once. A `k:<point_id>`
 * point sent again may carry another recorded_at (without one of its own it gets each post's
 * receipt time), and so may a `j:<job id>:<index>` one (a post repeated with its Idempotency-Key
 * after the first job was removed is the same job id with a new receipt time): either may land
 * in another month. Those are looked up in every partition first, under a per-driver
 * transaction lock so that two batches cannot both miss the other's uncommitted copy.
 */
export async function insertPoints(trx: Trx, points: PointRow[]): Promise<number> {
  if (points.length === 0) return 0;
  const keyedDrivers = [...new Set(points.filter((p) => !p.point_key.startsWith('t:')).map((p) => p.driver_id))].sort((a, b) => a - b);
  // In its own statement, before the insert's snapshot: a statement that waited for the lock
  // inside itself would not see what the holder committed. Taken in driver order, so two
  // batches never wait for each other in a circle.
  if (keyedDrivers.length > 0) {
    await trx.raw(`select pg_advisory_xact_lock(${POINT_ID_LOCK_CLASS}, d) from unnest(?::int[]) d`, [keyedDrivers as unknown as Knex.Value]);
  }
  // One array per column; pg sends them as typed PostgreSQL arrays.
  const col = <K extends keyof PointRow>(key: K) => points.map((p) => p[key]) as unknown as Knex.Value;
  const result = await trx.raw(
    `with p as (
       -- One row per (driver, point_key): a post and its retry may share a batch with different receipt times.
       select distinct on (driver_id, point_key) *
         from unnest(?::bigint[], ?::float8[], ?::float8[], ?::real[], ?::real[], ?::real[], ?::timestamptz[], ?::timestamptz[], ?::text[])
           as p(driver_id, latitude, longitude, speed_kmh, heading_deg, accuracy_m, recorded_at, received_at, point_key)
        order by driver_id, point_key, recorded_at
     ), v as (${CURRENT_VEHICLE_SQL})
     insert into vehicle_locations
       (driver_id, vehicle_id, latitude, longitude, speed_kmh, heading_deg, accuracy_m, recorded_at, received_at, point_key)
     select p.driver_id, v.vehicle_id, p.latitude, p.longitude, p.speed_kmh, p.heading_deg, p.accuracy_m,
            p.recorded_at, p.received_at, p.point_key
       from p left join v using (driver_id)
      where not (p.point_key not like 't:%' and exists (
              select 1 from vehicle_locations s where s.driver_id = p.driver_id and s.point_key = p.point_key))
      -- One lock order for every writer: two workers writing the same drivers wait
      -- for each other instead of deadlocking. The FK checks take FOR KEY SHARE on each
      -- row's driver, then its vehicle, held to commit; dispatch writers lock those rows
      -- FOR NO KEY UPDATE, which does not conflict with it (db/dispatches.ts).
      order by p.driver_id, p.point_key
     on conflict (driver_id, point_key, recorded_at) do nothing`,
    [
      col('driver_id'),
      col('latitude'),
      col('longitude'),
      col('speed_kmh'),
      col('heading_deg'),
      col('accuracy_m'),
      col('recorded_at'),
      col('received_at'),
      col('point_key'),
    ],
  );
  return result.rowCount ?? 0;
}

/** The first key of the advisory locks insertPoints takes per driver (the second is the driver id). */
const POINT_ID_LOCK_CLASS = 19_001;

// The vehicle each driver of the batch is in right now (looked up once per driver, not per
// point): the active dispatch's, else the driver's usual one. Expects a CTE named p.
const CURRENT_VEHICLE_SQL = `
  select dr.id as driver_id, coalesce(
    (select d.vehicle_id from dispatches d where d.driver_id = dr.id and d.status in (${ACTIVE_STATUSES_SQL}) limit 1),
    dr.vehicle_id
  ) as vehicle_id
  from drivers dr where dr.id in (select distinct driver_id from p)`;

/** Keeps each driver's newest position; an older point arriving late never overwrites a newer one. */
export async function upsertPositions(trx: Trx, latest: PointRow[]): Promise<void> {
  if (latest.length === 0) return;
  const col = <K extends keyof PointRow>(key: K) => latest.map((p) => p[key]) as unknown as Knex.Value;
  await trx.raw(
    `with p as (
       select * from unnest(?::bigint[], ?::float8[], ?::float8[], ?::real[], ?::real[], ?::timestamptz[])
         as p(driver_id, latitude, longitude, speed_kmh, heading_deg, recorded_at)
     ), v as (${CURRENT_VEHICLE_SQL})
     insert into driver_positions (driver_id, vehicle_id, latitude, longitude, speed_kmh, heading_deg, recorded_at, updated_at)
     select p.driver_id, v.vehicle_id, p.latitude, p.longitude, p.speed_kmh, p.heading_deg, p.recorded_at, now()
       from p left join v using (driver_id)
      order by p.driver_id
     on conflict (driver_id) do update set
       vehicle_id = excluded.vehicle_id, latitude = excluded.latitude, longitude = excluded.longitude,
       speed_kmh = excluded.speed_kmh, heading_deg = excluded.heading_deg,
       recorded_at = excluded.recorded_at, updated_at = now()
     where excluded.recorded_at >= driver_positions.recorded_at`,
    [col('driver_id'), col('latitude'), col('longitude'), col('speed_kmh'), col('heading_deg'), col('recorded_at')],
  );
}

export function toLocation(row: Record<string, unknown>) {
  return {
    id: row.id as number,
    driver_id: row.driver_id as number,
    vehicle_id: row.vehicle_id as number | null,
    latitude: row.latitude as number,
    longitude: row.longitude as number,
    speed_kmh: row.speed_kmh as number | null,
    heading_deg: row.heading_deg as number | null,
    accuracy_m: row.accuracy_m as number | null,
    recorded_at: row.recorded_at as Date,
    received_at: row.received_at as Date,
  };
}

/** A driver's points in time order (route replay), paged by (recorded_at, id) on the matching index. */
export async function listDriverLocations(db: Db, q: { driverId: number; from: Date; to: Date; limit: number; cursor?: string }) {
  const query = db('vehicle_locations')
    .where('driver_id', q.driverId)
    .where('recorded_at', '>=', q.from)
    .where('recorded_at', '<', q.to)
    .orderBy([{ column: 'recorded_at' }, { column: 'id' }])
    .limit(q.limit + 1)
    .select(
      'id',
      'driver_id',
      'vehicle_id',
      'latitude',
      'longitude',
      'speed_kmh',
      'heading_deg',
      'accuracy_m',
      'recorded_at',
      'received_at',
      db.raw(timeCursorColumn('recorded_at')),
    );
  if (q.cursor) {
    const [recordedAt, id] = decodeTimeCursor(q.cursor);
    query.whereRaw('(recorded_at, id) > (?::timestamptz, ?)', [recordedAt, id]);
  }
  const rows: Record<string, unknown>[] = await query;
  const result = page(rows, q.limit, (row) => [row.cursor_at as string, row.id as number]);
  return { items: result.items.map(toLocation), next_cursor: result.next_cursor };
}
