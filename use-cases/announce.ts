/**
 * The follow-ups every change announces, written in the change's own transaction: an
 * outbox row for the worker (history, notifications, derived data) and, after the
 * commit, cache invalidation for the caller's next read.
 */
import type { z } from 'zod';
import type { DispatchRow } from '../db/dispatches.js';
import { DISPATCH_STATUS_CHANGED, ORDER_CHANGED } from '../domain/events.js';
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
