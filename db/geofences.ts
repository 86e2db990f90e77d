/** Geofence arrivals and departures of dispatches (the stored evaluation of domain/geofences.ts), and what the evaluation reads. */
import type { Knex } from 'knex';
import { ACTIVE_DISPATCH_STATUSES, type DispatchStatus } from '../domain/dispatch-status.js';
import type { GeofenceCentre, GeofenceEvent, GeofenceKind, GeofenceSite } from '../domain/geofences.js';
import type { Db, Trx } from './knex.js';

export interface GeofenceEventRow {
  id: number;
  dispatch_id: number;
  site: GeofenceSite;
  kind: GeofenceKind;
  at: Date;
  latitude: number;
  longitude: number;
  distance_m: number;
  superseded_at: Date | null;
  created_at: Date;
}

/** An active dispatch whose order has at least one site with given (not estimated) coordinates. */
export interface GeofencedDispatch {
  id: number;
  order_id: number;
  driver_id: number;
  vehicle_id: number;
  status: DispatchStatus;
  created_at: Date;
  sites: GeofenceCentre[];
}

const GEOFENCED_SQL = `((o.pickup_lat is not null and o.pickup_lng is not null and not o.pickup_estimated)
   or (o.delivery_lat is not null and o.delivery_lng is not null and not o.delivery_estimated))`;

type CandidateRow = Omit<GeofencedDispatch, 'sites'> & {
  pickup_lat: number | null;
  pickup_lng: number | null;
  pickup_estimated: boolean;
  delivery_lat: number | null;
  delivery_lng: number | null;
  delivery_estimated: boolean;
};

/** The sites of an order that get a geofence: only coordinates the client gave (migration 0012). */
export function orderSites(o: Pick<CandidateRow, 'pickup_lat' | 'pickup_lng' | 'pickup_estimated' | 'delivery_lat' | 'delivery_lng' | 'delivery_estimated'>) {
  const sites: GeofenceCentre[] = [];
  if (o.pickup_lat != null && o.pickup_lng != null && !o.pickup_estimated) sites.push({ site: 'PICKUP', lat: o.pickup_lat, lng: o.pickup_lng });
  if (o.delivery_lat != null && o.delivery_lng != null && !o.delivery_estimated) sites.push({ site: 'DROPOFF', lat: o.delivery_lat, lng: o.delivery_lng });
  return sites;
}

/**
 * The active, geofenced dispatches of these drivers: one query per stored GPS batch, on the
 * dispatches' driver index (a driver has at most one active dispatch). Most batches get none back
 * and cost nothing more.
 */
export async function geofencedDispatches(db: Db | Trx, driverIds: readonly number[], dispatchId?: number): Promise<GeofencedDispatch[]> {
  if (driverIds.length === 0 && dispatchId === undefined) return [];
  const query = db('dispatches as d')
    .join('orders as o', 'o.id', 'd.order_id')
    .whereIn('d.status', ACTIVE_DISPATCH_STATUSES)
    .whereRaw(GEOFENCED_SQL)
    .select(
      'd.id',
      'd.order_id',
      'd.driver_id',
      'd.vehicle_id',
      'd.status',
      'd.created_at',
      'o.pickup_lat',
      'o.pickup_lng',
      'o.pickup_estimated',
      'o.delivery_lat',
      'o.delivery_lng',
      'o.delivery_estimated',
    );
  if (dispatchId !== undefined) query.where('d.id', dispatchId);
  else query.whereRaw('d.driver_id = any(?::bigint[])', [driverIds as unknown as Knex.Value]);
  const rows: CandidateRow[] = await query;
  return rows.map((r) => ({
    id: r.id,
    order_id: r.order_id,
    driver_id: r.driver_id,
    vehicle_id: r.vehicle_id,
    status: r.status,
    created_at: r.created_at,
    sites: orderSites(r),
  }));
}

export interface FixRow {
  driver_id: number;
  recorded_at: Date;
  latitude: number;
  longitude: number;
  accuracy_m: number | null;
}

export interface FixWindow {
  driverId: number;
  /** The earliest fix of the new batch. */
  earliest: Date;
  /** No fix before this belongs to the dispatch (its creation). */
  notBefore: Date;
}

/**
 * The fixes an evaluation of each driver's window reads, and where each window starts: the
 * `before`-th stored point before the batch's earliest (or the dispatch's creation, if it has
 * fewer), so that a run of fixes in progress when the batch begins is read whole. On the
 * (driver_id, recorded_at) index: a few rows before the batch, then the batch's own, however fast
 * the driver posts. One fix per instant, chosen as domain/geofences.ts chooses (usable accuracy
 * first, then the most accurate, then by position), so a post of many points stamped with one
 * receipt time sends one row to the evaluation, not a hundred.
 */
export async function fixesForWindows(
  trx: Trx,
  windows: readonly FixWindow[],
  before: number,
  maxAccuracyM: number,
): Promise<{ since: Map<number, Date>; fixes: FixRow[] }> {
  if (windows.length === 0) return { since: new Map(), fixes: [] };
  // The planner cannot know how few rows each window holds; its estimate grows with the table and
  // crosses jit_above_cost, and compiling the plan took 700 ms of an 8 ms query (measured on the bench).
  await trx.raw('set local jit = off');
  const col = <K extends keyof FixWindow>(key: K) => windows.map((w) => w[key]) as unknown as Knex.Value;
  // Both laterals stay per window (offset 0 keeps `since` from being recomputed for every row), and
  // the points before the batch are read backwards on the index, `before` of them at most.
  const { rows } = await trx.raw(
    `select distinct on (w.driver_id, v.recorded_at) w.driver_id, v.recorded_at, v.latitude, v.longitude, v.accuracy_m, s.since
       from unnest(?::bigint[], ?::timestamptz[], ?::timestamptz[]) as w(driver_id, earliest, not_before)
       cross join lateral (
         select greatest(w.not_before, (select min(x.recorded_at) from (
                  select b.recorded_at from vehicle_locations b
                   where b.driver_id = w.driver_id and b.recorded_at < w.earliest
                   order by b.recorded_at desc limit ?) x)) as since
         offset 0
       ) s
       cross join lateral (
         select v.recorded_at, v.latitude, v.longitude, v.accuracy_m from vehicle_locations v
          where v.driver_id = w.driver_id and v.recorded_at >= s.since
       ) v
      order by w.driver_id, v.recorded_at, (v.accuracy_m is not null and v.accuracy_m > ?), v.accuracy_m nulls last, v.latitude, v.longitude`,
    [col('driverId'), col('earliest'), col('notBefore'), before, maxAccuracyM],
  );
  const since = new Map<number, Date>();
  const fixes: FixRow[] = [];
  for (const { since: s, ...fix } of rows as (FixRow & { since: Date })[]) {
    since.set(fix.driver_id, s);
    fixes.push(fix);
  }
  return { since, fixes };
}

/** The current (not superseded) events of these dispatches, in time order. */
export function currentEvents(db: Db | Trx, dispatchIds: readonly number[]): Promise<GeofenceEventRow[]> {
  if (dispatchIds.length === 0) return Promise.resolve([]);
  return db('geofence_events')
    .whereIn('dispatch_id', dispatchIds)
    .whereNull('superseded_at')
    .orderBy([{ column: 'at' }, { column: 'id' }]);
}

/** A dispatch's current arrivals and departures in time order (GET /dispatches/:id/events). */
export function listDispatchGeofenceEvents(db: Db, dispatchId: number): Promise<GeofenceEventRow[]> {
  return currentEvents(db, [dispatchId]);
}

/** Each dispatch's latest current event (for the driver's suggested status), one query for the list. */
export async function latestGeofenceEvents(db: Db, dispatchIds: readonly number[]): Promise<Map<number, GeofenceEventRow>> {
  if (dispatchIds.length === 0) return new Map();
  const rows: GeofenceEventRow[] = await db('geofence_events')
    .distinctOn('dispatch_id')
    .whereIn('dispatch_id', dispatchIds)
    .whereNull('superseded_at')
    .orderBy([{ column: 'dispatch_id' }, { column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]);
  return new Map(rows.map((r) => [r.dispatch_id, r]));
}

export const eventIdentity = (e: { site: string; kind: string; at: Date }) => `${e.site}|${e.kind}|${e.at.toISOString()}`;

export interface StoreResult {
  /** Rows stored for the first time: each is announced (outbox) by the caller. */
  inserted: GeofenceEventRow[];
  /** Superseded rows whose identity came back: current again, announced before. */
  revived: GeofenceEventRow[];
  superseded: GeofenceEventRow[];
}

/**
 * Makes a dispatch's current events at or after `from` exactly `events`, in the caller's
 * transaction (which holds the dispatch's lock): each is upserted on its identity (dispatch,
 * site, kind, at); a superseded row whose identity comes back is revived; current rows from
 * `from` on whose identity is gone are marked superseded_at = now(). Never deleted, never duplicated.
 */
export async function storeGeofenceEvents(trx: Trx, dispatchId: number, from: Date, events: readonly GeofenceEvent[]): Promise<StoreResult> {
  const current = await currentEvents(trx, [dispatchId]);
  const existing = new Set(current.map(eventIdentity));
  const result: StoreResult = { inserted: [], revived: [], superseded: [] };
  for (const e of events) {
    if (existing.has(eventIdentity(e))) continue;
    const { rows } = await trx.raw(
      `insert into geofence_events (dispatch_id, site, kind, at, latitude, longitude, distance_m)
       values (?, ?, ?, ?, ?, ?, ?)
       on conflict (dispatch_id, site, kind, at) do update set superseded_at = null
       returning *, (xmax = 0) as inserted`,
      [dispatchId, e.site, e.kind, e.at, e.lat, e.lng, Math.round(e.distanceM * 10) / 10],
    );
    const { inserted, ...row } = rows[0] as GeofenceEventRow & { inserted: boolean };
    (inserted ? result.inserted : result.revived).push(row);
  }
  const keep = new Set(events.map(eventIdentity));
  const gone = current.filter((r) => r.at >= from && !keep.has(eventIdentity(r))).map((r) => r.id);
  if (gone.length > 0) result.superseded = await trx('geofence_events').whereIn('id', gone).update({ superseded_at: trx.fn.now() }).returning('*');
  return result;
}
