/** Dispatches and their status history: queries and the shape clients see. */
import type { DispatchStatus } from '../domain/dispatch-status.js';
import { ACTIVE_DISPATCH_STATUSES } from '../domain/dispatch-status.js';
import type { GeofenceKind, GeofenceSite } from '../domain/geofences.js';
import { decodeTimeCursor, timeCursorColumn, page } from './cursor.js';
import type { Db, Trx } from './knex.js';
import type { OrderRow } from './orders.js';

/** The active statuses as an SQL list literal, for statements that inline them (fixed values, not input). */
export const ACTIVE_STATUSES_SQL = ACTIVE_DISPATCH_STATUSES.map((s) => `'${s}'`).join(',');

export interface DispatchRow {
  id: number;
  order_id: number;
  vehicle_id: number;
  driver_id: number;
  status: DispatchStatus;
  assigned_by: number | null;
  notes: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export function toDispatch(row: DispatchRow) {
  return {
    id: row.id,
    order_id: row.order_id,
    vehicle_id: row.vehicle_id,
    driver_id: row.driver_id,
    status: row.status,
    assigned_by: row.assigned_by,
    notes: row.notes,
    created_at: row.created_at,
    updated_at: row.updated_at,
    finished_at: row.finished_at,
  };
}
export type Dispatch = ReturnType<typeof toDispatch>;

export async function insertDispatch(trx: Trx, data: Partial<DispatchRow>): Promise<DispatchRow> {
  const [row] = await trx('dispatches').insert(data).returning('*');
  return row;
}

export function getDispatch(db: Db | Trx, id: number): Promise<DispatchRow | undefined> {
  return db('dispatches').where({ id }).first();
}

/*
 * Row locks and deadlocks. Every dispatch writer locks in one order: the order, then the
 * vehicle and the driver (creation) or the dispatch (status change, cancellation).
 *
 * Rows that other transactions reference by foreign key while we hold them are locked
 * FOR NO KEY UPDATE, never FOR UPDATE: the GPS writer's inserts into vehicle_locations and
 * driver_positions take FOR KEY SHARE on their driver and vehicle rows (the FK checks),
 * and the dispatches worker's history insert takes it on the dispatch. FOR UPDATE conflicts
 * with FOR KEY SHARE; FOR NO KEY UPDATE does not, and it is all we need: it still
 * serializes every writer of the row (it conflicts with itself and with FOR UPDATE, and
 * an UPDATE of the row takes it), and no UVIS write ever changes an id. With FOR UPDATE a
 * GPS batch holding KEY SHARE on driver D (D's points) and waiting for vehicle V (a later
 * point's vehicle), against a dispatch creation holding V and waiting for D, deadlocked
 * (the creation's victim answered 503). One lock order cannot prevent that: one batch locks
 * many drivers and vehicles interleaved (driver, then its vehicle, row by row).
 */

/** Locks a vehicle and a driver for an assignment: concurrent assignments of either queue up here. */
export async function lockVehicleAndDriver(trx: Trx, vehicleId: number, driverId: number) {
  const vehicle = await trx('vehicles').where({ id: vehicleId }).forNoKeyUpdate().first();
  const driver = vehicle ? await trx('drivers').where({ id: driverId }).forNoKeyUpdate().first() : undefined;
  return { vehicle, driver };
}

/**
 * Locks a dispatch for a change, its order first: every writer takes the order, then
 * its dispatch (order cancellation does the same), so two changes to one delivery wait
 * for each other instead of deadlocking. A dispatch never moves to another order.
 * The dispatch FOR NO KEY UPDATE: see above (the history insert's FK check on it need not wait).
 */
export async function lockDispatch(trx: Trx, id: number): Promise<{ dispatch: DispatchRow; order: OrderRow } | undefined> {
  const found = await trx('dispatches').where({ id }).first('order_id');
  if (!found) return undefined;
  const order: OrderRow = await trx('orders').where({ id: found.order_id }).forUpdate().first();
  const dispatch: DispatchRow = await trx('dispatches').where({ id }).forNoKeyUpdate().first();
  return { dispatch, order };
}

/** The active dispatch of an order, locked. The caller already holds the order's lock (the order-then-dispatch order above). */
export function lockActiveDispatchOfOrder(trx: Trx, orderId: number): Promise<DispatchRow | undefined> {
  return trx('dispatches').where('order_id', orderId).whereIn('status', ACTIVE_DISPATCH_STATUSES).forNoKeyUpdate().first();
}

export async function setDispatchStatus(trx: Trx, id: number, status: DispatchStatus, finished: boolean): Promise<DispatchRow> {
  const [row] = await trx('dispatches')
    .where({ id })
    .update({ status, updated_at: trx.fn.now(), ...(finished ? { finished_at: trx.fn.now() } : {}) })
    .returning('*');
  return row;
}

/** Id of an active dispatch holding this vehicle or driver, if there is one. */
export async function activeDispatchId(trx: Trx, column: 'vehicle_id' | 'driver_id', id: number): Promise<number | undefined> {
  const row = await trx('dispatches').where(column, id).whereIn('status', ACTIVE_DISPATCH_STATUSES).first('id');
  return row?.id;
}

export interface DispatchFilters {
  status?: DispatchStatus[];
  driverId?: number;
  vehicleId?: number;
  orderId?: number;
  limit: number;
  cursor?: string;
}

export async function listDispatches(db: Db, f: DispatchFilters) {
  const query = db('dispatches')
    .select('*', db.raw(timeCursorColumn('created_at')))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(f.limit + 1);
  if (f.status?.length) query.whereIn('status', f.status);
  if (f.driverId !== undefined) query.where('driver_id', f.driverId);
  if (f.vehicleId !== undefined) query.where('vehicle_id', f.vehicleId);
  if (f.orderId !== undefined) query.where('order_id', f.orderId);
  if (f.cursor) {
    const [createdAt, id] = decodeTimeCursor(f.cursor);
    query.whereRaw('(created_at, id) < (?::timestamptz, ?)', [createdAt, id]);
  }
  const rows: (DispatchRow & { cursor_at: string })[] = await query;
  const result = page(rows, f.limit, (row) => [row.cursor_at, row.id]);
  return { items: result.items.map(toDispatch), next_cursor: result.next_cursor };
}

/** A driver's active dispatches with what the driver needs to drive them (addresses, cargo). */
export async function driverActiveDispatches(db: Db, driverId: number) {
  const rows = await db('dispatches as d')
    .join('orders as o', 'o.id', 'd.order_id')
    // Each dispatch's latest current geofence event (for the suggested status), in the same round
    // trip: on geofence_events_current_idx, read backwards, one row per dispatch.
    .joinRaw(
      `left join lateral (
         select g.site as geofence_site, g.kind as geofence_kind from geofence_events g
          where g.dispatch_id = d.id and g.superseded_at is null
          order by g.at desc, g.id desc limit 1) g on true`,
    )
    .where('d.driver_id', driverId)
    .whereIn('d.status', ACTIVE_DISPATCH_STATUSES)
    .orderBy('d.created_at')
    .select('d.*', 'o.pickup_address', 'o.delivery_address', 'o.cargo_type', 'o.weight_kg', 'o.status as order_status', 'g.geofence_site', 'g.geofence_kind');
  return rows.map((row: DispatchRow & Record<string, unknown>) => ({
    ...toDispatch(row),
    order: {
      id: row.order_id,
      pickup_address: row.pickup_address,
      delivery_address: row.delivery_address,
      cargo_type: row.cargo_type,
      weight: row.weight_kg,
      status: row.order_status,
    },
    latestGeofenceEvent: row.geofence_site ? { site: row.geofence_site as GeofenceSite, kind: row.geofence_kind as GeofenceKind } : undefined,
  }));
}

/** A driver's counts for one day (the caller picks the day's bounds in Korean time). */
export async function driverDaySummary(db: Db, driverId: number, dayStart: Date, dayEnd: Date) {
  const active = ACTIVE_DISPATCH_STATUSES.map(() => '?').join(',');
  const row = await db('dispatches')
    .where('driver_id', driverId)
    .first(
      db.raw(`count(*) filter (where status in (${active}))::int as active`, [...ACTIVE_DISPATCH_STATUSES]),
      db.raw(`count(*) filter (where created_at >= ? and created_at < ?)::int as assigned_today`, [dayStart, dayEnd]),
      db.raw(`count(*) filter (where status = 'COMPLETED' and finished_at >= ? and finished_at < ?)::int as completed_today`, [dayStart, dayEnd]),
      db.raw(`count(*) filter (where status = 'FAILED' and finished_at >= ? and finished_at < ?)::int as failed_today`, [dayStart, dayEnd]),
      db.raw(`count(*) filter (where status = 'CANCELLED' and finished_at >= ? and finished_at < ?)::int as cancelled_today`, [dayStart, dayEnd]),
    );
  return {
    active: row?.active ?? 0,
    assigned_today: row?.assigned_today ?? 0,
    completed_today: row?.completed_today ?? 0,
    failed_today: row?.failed_today ?? 0,
    cancelled_today: row?.cancelled_today ?? 0,
  };
}

export async function insertHistory(
  db: Db | Trx,
  entry: {
    event_id: number;
    event_key: string | null;
    dispatch_id: number;
    from_status: string | null;
    to_status: string;
    changed_by: number | null;
    changed_at: Date;
    note: string | null;
  },
): Promise<boolean> {
  // Deduplicated on event_key, or on event_id for jobs queued before keys existed (migration 0005).
  const inserted = await db('dispatch_status_history').insert(entry).onConflict().ignore().returning('id');
  return inserted.length > 0;
}

export function dispatchHistory(db: Db, dispatchId: number) {
  return db('dispatch_status_history')
    .where('dispatch_id', dispatchId)
    .orderBy([{ column: 'changed_at' }, { column: 'id' }])
    .select('from_status', 'to_status', 'changed_by', 'changed_at', 'note');
}

/** The driver's active dispatch (at most one, by a unique index), with the vehicle it holds. */
export function activeDispatchOfDriver(db: Db, driverId: number): Promise<Pick<DispatchRow, 'id' | 'vehicle_id'> | undefined> {
  return db('dispatches').where('driver_id', driverId).whereIn('status', ACTIVE_DISPATCH_STATUSES).first('id', 'vehicle_id');
}
