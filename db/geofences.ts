/** Geofence arrivals and departures of dispatches (the stored evaluation of domain/geofences.ts), and what the evaluation reads. */
import type { Knex } from 'knex';
import type { DispatchStatus } from '../domain/dispatch-status.js';
import type { GeofenceCentre, GeofenceEvent, GeofenceKind, GeofenceSite } from '../domain/geofences.js';
import { ACTIVE_STATUSES_SQL } from './dispatches.js';
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

export interface FixRow {
  driver_id: number;
  recorded_at: Date;
  latitude: number;
  longitude: number;
  accuracy_m: number | null;
}

/** What one dispatch's windowed evaluation needs: the dispatch, where its window starts, its stored fixes from there, its current events. */
export interface GeofenceWindow {
  dispatch: GeofencedDispatch;
  since: Date;
  fixes: FixRow[];
  events: GeofenceEventRow[];
}

/**
 * The windows of the active, geofenced dispatches of these drivers (a driver has at most one
 * active dispatch), in one statement and one round trip: the dispatch and its order's sites; where
 * its window starts (`since`: the `before`-th stored fix before the driver's `earliest`, or
 * `earliest` itself when `before` is 0 or nothing is stored before it; never before the dispatch
 * was created), so a run of fixes in progress is read whole; the stored fixes from there; and its
 * current events. Most GPS batches find no such dispatch and cost this one index probe.
 *
 * Fixes: on the (driver_id, recorded_at) index, the ones before `earliest` read backwards; one
 * per instant, chosen as domain/geofences.ts chooses (usable accuracy first, then the most
 * accurate, then by position), so a post of many points stamped with one receipt time sends one
 * row, not a hundred. Times travel as epoch milliseconds inside JSON (one value per dispatch, not
 * a row per fix). Each subquery runs once per dispatch (correlated on it), never per fix.
 */
export async function geofenceWindows(
  db: Db | Trx,
  windows: readonly { driverId: number; earliest: Date }[],
  options: { before: number; maxAccuracyM: number; dispatchId?: number },
): Promise<GeofenceWindow[]> {
  if (windows.length === 0) return [];
  const { rows } = await db.raw(
    `with w as (
       select * from unnest(?::bigint[], ?::timestamptz[]) as w(driver_id, earliest)
     ), d as (
       select d.id, d.order_id, d.driver_id, d.vehicle_id, d.status, d.created_at, w.earliest,
              o.pickup_lat, o.pickup_lng, o.pickup_estimated, o.delivery_lat, o.delivery_lng, o.delivery_estimated
         from w join dispatches d on d.driver_id = w.driver_id
         join orders o on o.id = d.order_id
        where d.status in (${ACTIVE_STATUSES_SQL}) and ${GEOFENCED_SQL} and (?::bigint is null or d.id = ?::bigint)
     )
     select d.*, s.since,
            (select coalesce(json_agg(json_build_array(extract(epoch from f.recorded_at) * 1000, f.latitude, f.longitude, f.accuracy_m) order by f.recorded_at), '[]')
               from (select distinct on (v.recorded_at) v.recorded_at, v.latitude, v.longitude, v.accuracy_m
                       from vehicle_locations v
                      where v.driver_id = d.driver_id and v.recorded_at >= s.since
                      order by v.recorded_at, (v.accuracy_m is not null and v.accuracy_m > ?), v.accuracy_m nulls last, v.latitude, v.longitude) f) as fixes,
            (select coalesce(json_agg(e order by e.at, e.id), '[]')
               from geofence_events e where e.dispatch_id = d.id and e.superseded_at is null) as events
       from d cross join lateral (
         select greatest(d.created_at, coalesce((select min(x.recorded_at) from (
                  select b.recorded_at from vehicle_locations b
                   where b.driver_id = d.driver_id and b.recorded_at < d.earliest
                   order by b.recorded_at desc limit ?) x), d.earliest)) as since
         offset 0
       ) s`,
    [
      windows.map((w) => w.driverId) as unknown as Knex.Value,
      windows.map((w) => w.earliest) as unknown as Knex.Value,
      options.dispatchId ?? null,
      options.dispatchId ?? null,
      options.maxAccuracyM,
      options.before,
    ],
  );
  type Row = CandidateRow & { since: Date; fixes: [number, number, number, number | null][]; events: Record<string, unknown>[] };
  return (rows as Row[]).map((r) => ({
    dispatch: {
      id: r.id,
      order_id: r.order_id,
      driver_id: r.driver_id,
      vehicle_id: r.vehicle_id,
      status: r.status,
      created_at: r.created_at,
      sites: orderSites(r),
    },
    since: r.since,
    fixes: r.fixes.map(([ms, latitude, longitude, accuracy_m]) => ({ driver_id: r.driver_id, recorded_at: new Date(ms), latitude, longitude, accuracy_m })),
    events: r.events.map(eventFromJson),
  }));
}

/** A geofence_events row as json_agg gives it (times as ISO text). */
function eventFromJson(e: Record<string, unknown>): GeofenceEventRow {
  const time = (v: unknown) => (v == null ? null : new Date(v as string));
  return { ...(e as unknown as GeofenceEventRow), at: time(e.at)!, superseded_at: time(e.superseded_at), created_at: time(e.created_at)! };
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
