/** The outbox event and cache invalidation that follow every dispatch change, written in the change's transaction. */
import type { DispatchRow } from '../../db/dispatches.js';
import { writeOutbox } from '../../db/outbox.js';
import { cacheNames } from '../../lib/cache.js';
import type { AppDeps } from '../deps.js';
import type { Tx } from '../transaction.js';

export async function announceDispatchChange(
  tx: Tx,
  deps: AppDeps,
  dispatch: DispatchRow,
  from: DispatchRow['status'] | null,
  changedBy: number,
  note?: string,
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
