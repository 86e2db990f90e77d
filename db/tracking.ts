/**
 * The public tracking page's reads and the tracking token's writes (issue 16 item 5). What the
 * page may show is decided here by what is selected: no names, phone numbers, plates,
 * addresses or exact positions ever leave this module.
 */
import type { Db } from './knex.js';
import type { OrderRow } from './orders.js';

export interface TrackedOrder {
  order_id: number;
  order_status: string;
  cargo_type: OrderRow['cargo_type'];
  created_at: Date;
  dispatch_id: number | null;
  dispatch_status: string | null;
  driver_id: number | null;
}

/**
 * The order behind a tracking token, with its latest dispatch; undefined for an unknown or revoked
 * token. The dispatch is one lateral probe on dispatches (order_id): an anonymous request must not
 * cost a walk over every dispatch.
 */
export function trackedOrder(db: Db, token: string): Promise<TrackedOrder | undefined> {
  return db('orders as o')
    .joinRaw('left join lateral (select id, status, driver_id from dispatches where order_id = o.id order by created_at desc, id desc limit 1) d on true')
    .where('o.tracking_token', token)
    .first('o.id as order_id', 'o.status as order_status', 'o.cargo_type', 'o.created_at', 'd.id as dispatch_id', 'd.status as dispatch_status', 'd.driver_id');
}

/** The dispatch's status changes in time order: what happened and when, not who. */
export function trackingTimeline(db: Db, dispatchId: number): Promise<{ status: string; at: Date }[]> {
  return db('dispatch_status_history')
    .where('dispatch_id', dispatchId)
    .orderBy([{ column: 'changed_at' }, { column: 'id' }])
    .select('to_status as status', 'changed_at as at');
}

/** The driver's latest fix, for a position the caller coarsens. */
export function latestPosition(db: Db, driverId: number): Promise<{ latitude: number; longitude: number; recorded_at: Date } | undefined> {
  return db('driver_positions').where('driver_id', driverId).first('latitude', 'longitude', 'recorded_at');
}

/** Whether the dispatch has readings, and how many of its current excursions are HIGH or LOW (open ones apart). */
export async function temperatureOutline(db: Db, dispatchId: number): Promise<{ readings: boolean; excursions: number; open: number }> {
  const [readings, excursions] = await Promise.all([
    db('temperature_readings').where('dispatch_id', dispatchId).first(db.raw('1 as one')),
    db('temperature_excursions')
      .where('dispatch_id', dispatchId)
      .whereNull('superseded_at')
      .whereIn('kind', ['HIGH', 'LOW'])
      .first(db.raw('count(*)::int as n'), db.raw("count(*) filter (where status = 'OPEN')::int as open")),
  ]);
  return { readings: readings !== undefined, excursions: excursions?.n ?? 0, open: excursions?.open ?? 0 };
}

/**
 * A new tracking token for the order (the old link stops working), or none (revoked); the order
 * row, undefined when unknown or (given `clientId`, a shipper key's) another client's.
 */
export async function setTrackingToken(db: Db, orderId: number, token: string | null, clientId?: number): Promise<OrderRow | undefined> {
  const [row] = await db('orders')
    .where('id', orderId)
    .modify((q) => {
      if (clientId !== undefined) q.where('client_id', clientId);
    })
    .update({ tracking_token: token, updated_at: db.fn.now() })
    .returning('*');
  return row;
}
