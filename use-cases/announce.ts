/**
 * The follow-ups every change announces, written in the change's own transaction: an
 * outbox row for the worker (history, notifications, derived data) and, after the
 * commit, cache invalidation for the caller's next read.
 */
import type { DispatchRow } from '../db/dispatches.js';
import { writeOutbox } from '../db/outbox.js';
import { cacheNames } from '../lib/cache.js';
import type { UseCaseDeps } from './deps.js';
import type { Tx } from './transaction.js';

export type OrderChange = 'created' | 'updated' | 'cancelled' | 'status';

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
  return writeOutbox(tx.trx, 'dispatches', 'dispatch.status_changed', {
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
  return writeOutbox(tx.trx, 'orders', 'order.changed', { orderId, change });
}
