/**
 * The follow-ups every change announces, written in the change's own transaction: an
 * outbox row for the worker (history, notifications, derived data) and, after the
 * commit, cache invalidation for the caller's next read.
 */
import type { z } from 'zod';
import type { DispatchRow } from '../db/dispatches.js';
import { DISPATCH_STATUS_CHANGED, ORDER_CHANGED, WEBHOOK_EVENT } from '../domain/events.js';
import type { WebhookEventType } from '../domain/webhook-events.js';
import type { OrderRow } from '../db/orders.js';
import { writeEvent } from '../db/outbox.js';
import { cacheNames } from '../lib/cache.js';
import type { UseCaseDeps } from './deps.js';
import type { Tx } from './transaction.js';

export type OrderChange = z.input<typeof ORDER_CHANGED.payload>['change'];

export async function announceDispatchChange(
  tx: Tx,
  deps: Pick<UseCaseDeps, 'cache'>,
  dispatch: DispatchRow,
  from: DispatchRow['status'] | null,
  changedBy: number,
  note?: string | null,
): Promise<number> {
  // Invalidate at once for the caller's next read; the worker invalidates again when it processes the event.
  tx.afterCommit(() => deps.cache.invalidate(cacheNames.driverSummary(dispatch.driver_id), cacheNames.orderStatusCounts()));
  return writeEvent(tx.trx, DISPATCH_STATUS_CHANGED, {
    dispatchId: dispatch.id,
    orderId: dispatch.order_id,
    driverId: dispatch.driver_id,
    vehicleId: dispatch.vehicle_id,
    from,
    to: dispatch.status,
    changedBy,
    changedAt: dispatch.updated_at.toISOString(),
    note: note ?? null,
  });
}

export function announceOrderChange(tx: Tx, deps: Pick<UseCaseDeps, 'cache'>, orderId: number, change: OrderChange): Promise<number> {
  tx.afterCommit(() => deps.cache.invalidate(cacheNames.orderStatusCounts()));
  return writeEvent(tx.trx, ORDER_CHANGED, { orderId, change });
}

/**
 * An event for shippers' webhooks, in the change's transaction: committed with it, or never.
 * `data` is what the shipper receives, a snapshot of the change; name fields as the API does.
 */
export function announceWebhook(
  tx: Tx,
  type: WebhookEventType,
  clientId: number | null,
  data: Record<string, unknown>,
  at: Date = new Date(),
): Promise<number> {
  return writeEvent(tx.trx, WEBHOOK_EVENT, { type, clientId, occurredAt: at.toISOString(), data });
}

/** order.created: what a shipper needs to match the order to its own records. */
export function announceOrderCreated(tx: Tx, order: OrderRow): Promise<number> {
  return announceWebhook(
    tx,
    'order.created',
    order.client_id,
    {
      order_id: order.id,
      client_id: order.client_id,
      status: order.status,
      cargo_type: order.cargo_type,
      weight_kg: order.weight_kg,
      pickup_address: order.pickup_address,
      delivery_address: order.delivery_address,
      created_at: order.created_at,
    },
    order.created_at,
  );
}

/** order.status_changed, only when the status really moved. */
export async function announceOrderStatus(tx: Tx, order: OrderRow, from: OrderRow['status']): Promise<void> {
  if (from === order.status) return;
  await announceWebhook(
    tx,
    'order.status_changed',
    order.client_id,
    { order_id: order.id, client_id: order.client_id, from, to: order.status },
    order.updated_at,
  );
}

/** dispatch.assigned for a new dispatch, dispatch.status_changed for a move (driver notes stay internal). */
export async function announceDispatchWebhook(tx: Tx, dispatch: DispatchRow, clientId: number, from: DispatchRow['status'] | null): Promise<void> {
  const base = { dispatch_id: dispatch.id, order_id: dispatch.order_id, client_id: clientId, vehicle_id: dispatch.vehicle_id, driver_id: dispatch.driver_id };
  if (from === null) await announceWebhook(tx, 'dispatch.assigned', clientId, { ...base, status: dispatch.status }, dispatch.updated_at);
  else await announceWebhook(tx, 'dispatch.status_changed', clientId, { ...base, from, to: dispatch.status }, dispatch.updated_at);
}
