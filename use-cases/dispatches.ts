/**
 * Dispatch writes: assigning an order to a vehicle and driver, and every status change
 * (a driver's report, a dispatcher's cancellation, an order's cancellation with its dispatch). The
 * sequence of a change (lock, check the transition, set the status, make the order
 * follow, announce) is written once, here; routes, the dashboard and jobs call it.
 *
 * Each function runs inside the caller's unit of work (use-cases/transaction.ts), so a
 * route can store its Idempotency-Key answer in the same transaction.
 */
import { assignmentRefusals } from '../domain/assignment.js';
import { orderCancelRefusal } from '../domain/orders.js';
import { checkTransition, orderStatusFor, TERMINAL_DISPATCH_STATUSES, type DispatchStatus, type OrderStatus } from '../domain/dispatch-status.js';
import {
  activeDispatchId,
  insertDispatch,
  lockActiveDispatchOfOrder,
  lockDispatch,
  lockVehicleAndDriver,
  setDispatchStatus,
  type DispatchRow,
} from '../db/dispatches.js';
import { unresolvedExcursions } from '../db/excursions.js';
import { proofKindsOf } from '../db/proofs.js';
import { missingProofs, needsProofFor } from '../domain/proofs.js';
import { getOrder, updateOrder, type OrderRow } from '../db/orders.js';
import { ConflictError, NotFoundError } from '../lib/errors/index.js';
import { announceDispatchChange, announceDispatchWebhook, announceOrderChange, announceOrderStatus } from './announce.js';
import type { UseCaseDeps } from './deps.js';
import type { Tx } from './transaction.js';

type Deps = Pick<UseCaseDeps, 'cache'>;

export interface AssignInput {
  orderId: number;
  vehicleId: number;
  driverId: number;
  notes?: string | null;
  /** The user assigning. */
  by: number;
}

/** Assigns a PENDING order; 404 for an unknown order, vehicle or driver, 409 with every refusal reason. */
export async function assignDispatch(tx: Tx, deps: Deps, input: AssignInput): Promise<DispatchRow> {
  const { trx } = tx;
  // Lock order, vehicle and driver, in that order (db/dispatches.ts explains the lock modes):
  // concurrent assignments of any of them queue up here.
  const order = await getOrder(trx, input.orderId, { forUpdate: true });
  if (!order) throw new NotFoundError(`order ${input.orderId}`);
  const { vehicle, driver } = await lockVehicleAndDriver(trx, input.vehicleId, input.driverId);
  if (!vehicle) throw new NotFoundError(`vehicle ${input.vehicleId}`);
  if (!driver) throw new NotFoundError(`driver ${input.driverId}`);
  const refusals = assignmentRefusals({
    order: { id: order.id, status: order.status, cargoType: order.cargo_type, weightKg: order.weight_kg },
    vehicle: {
      id: input.vehicleId,
      active: vehicle.active as boolean,
      capacityKg: vehicle.capacity_kg as number,
      cargoClasses: vehicle.cargo_classes as never,
    },
    driver: { id: input.driverId, active: driver.active as boolean },
    vehicleBusyWith: await activeDispatchId(trx, 'vehicle_id', input.vehicleId),
    driverBusyWith: await activeDispatchId(trx, 'driver_id', input.driverId),
  });
  if (refusals.length > 0) throw new ConflictError(`assignment refused: ${refusals[0]!.message}`, 'dispatch_refused', refusals);
  const dispatch = await insertDispatch(trx, {
    order_id: order.id,
    vehicle_id: input.vehicleId,
    driver_id: input.driverId,
    status: 'ASSIGNED',
    assigned_by: input.by,
    notes: input.notes ?? null,
  });
  const assigned = await updateOrder(trx, order.id, { status: orderStatusFor('ASSIGNED') });
  await announceDispatchChange(tx, deps, dispatch, null, input.by);
  await announceOrderChange(tx, deps, order.id, 'status');
  await announceDispatchWebhook(tx, dispatch, order.client_id, null);
  await announceOrderStatus(tx, assigned, order.status);
  return dispatch;
}

/**
 * Who makes a change. A driver may change only their own dispatches: another's looks
 * exactly like a missing one (no probing for ids). Staff (dispatchers, admins) any.
 */
export type Actor = { kind: 'driver'; userId: number; driverId: number } | { kind: 'staff'; userId: number };

export interface StatusChangeInput {
  dispatchId: number;
  to: DispatchStatus;
  actor: Actor;
  note?: string | null;
  /** Asking for the status a dispatch already has: a no-op (a driver's repeated tap) or a 409 (cancelling twice). */
  same: 'no-op' | 'conflict';
}

export interface StatusChangeResult {
  dispatch: DispatchRow;
  order: OrderRow;
  changed: boolean;
}

/** Sets a dispatch's status; the order follows (domain/dispatch-status.ts orderStatusFor). 404 unknown, 409 not a forward move. */
export async function changeDispatchStatus(tx: Tx, deps: Deps, input: StatusChangeInput): Promise<StatusChangeResult> {
  const { actor } = input;
  const locked = await lockDispatch(tx.trx, input.dispatchId);
  if (!locked || (actor.kind === 'driver' && locked.dispatch.driver_id !== actor.driverId)) throw new NotFoundError('dispatch');
  const current = locked.dispatch;
  const check = checkTransition(current.status, input.to);
  if (check.kind === 'refused' || (check.kind === 'same' && input.same === 'conflict')) {
    const reason = check.kind === 'refused' ? check.reason : `dispatch ${current.id} is already ${current.status}`;
    throw new ConflictError(reason, 'invalid_transition', { from: current.status, to: input.to });
  }
  if (check.kind === 'same') return { dispatch: current, order: locked.order, changed: false };
  return { ...(await moveDispatch(tx, deps, current, locked.order, input.to, actor.userId, input.note)), changed: true };
}

/** Cancels an order that is PENDING or ASSIGNED (domain/orders.ts) and its active dispatch; 409 once it is on the road, done or cancelled. */
export async function cancelOrder(tx: Tx, deps: Deps, orderId: number, by: number, reason: string | null): Promise<OrderRow> {
  // The order first, then its dispatch: the lock order of every writer (db/dispatches.ts).
  const order = await getOrder(tx.trx, orderId, { forUpdate: true });
  if (!order) throw new NotFoundError('order');
  const refusal = orderCancelRefusal(orderId, order.status);
  if (refusal) throw new ConflictError(refusal.message, refusal.code);
  const active = await lockActiveDispatchOfOrder(tx.trx, order.id);
  if (active) return (await moveDispatch(tx, deps, active, order, 'CANCELLED', by, reason ?? 'order cancelled', 'CANCELLED')).order;
  const row = await updateOrder(tx.trx, order.id, { status: 'CANCELLED' });
  await announceOrderChange(tx, deps, row.id, 'cancelled');
  await announceOrderStatus(tx, row, order.status);
  return row;
}

/**
 * The one place a dispatch's status is written: the status, the order that follows it, and both announcements.
 * The caller holds the dispatch's lock (order, then dispatch). Handing the goods over (DELIVERED, or any skip
 * past it to COMPLETED) is refused (409 PROOF_REQUIRED, DESIGN.md "Proof of delivery") while a proof the order
 * requires is missing; orders that require none (every order unless a client or dispatcher asked) are unaffected.
 * Completion is refused (409 EXCURSION_UNRESOLVED,
 * DESIGN.md "Cold-chain telemetry and excursions") while one of its current temperature excursions is OPEN or
 * has no corrective action; a dispatch without readings has none, so clients that send none are unaffected.
 * Excursion evaluation takes the same lock, so the check sees a whole evaluation or none of it.
 */
async function moveDispatch(
  tx: Tx,
  deps: Deps,
  current: DispatchRow,
  orderBefore: OrderRow,
  to: DispatchStatus,
  by: number,
  note: string | null | undefined,
  orderStatus: OrderStatus = orderStatusFor(to),
): Promise<{ dispatch: DispatchRow; order: OrderRow }> {
  if (needsProofFor(to) && orderBefore.proof_required.length > 0) {
    const missing = missingProofs(orderBefore.proof_required, await proofKindsOf(tx.trx, current.id));
    if (missing.length > 0) {
      throw new ConflictError(
        `dispatch ${current.id} cannot become ${to}: the order requires proof of delivery (${missing.join(', ')} missing)`,
        'PROOF_REQUIRED',
        {
          required: orderBefore.proof_required,
          missing,
        },
      );
    }
  }
  if (to === 'COMPLETED') {
    const unresolved = await unresolvedExcursions(tx.trx, current.id);
    if (unresolved.length > 0) {
      throw new ConflictError(
        `dispatch ${current.id} has ${unresolved.length} temperature excursion(s) still open or without a corrective action`,
        'EXCURSION_UNRESOLVED',
        { excursions: unresolved },
      );
    }
  }
  const dispatch = await setDispatchStatus(tx.trx, current.id, to, TERMINAL_DISPATCH_STATUSES.includes(to));
  const order = await updateOrder(tx.trx, dispatch.order_id, { status: orderStatus });
  await announceDispatchChange(tx, deps, dispatch, current.status, by, note);
  await announceOrderChange(tx, deps, dispatch.order_id, orderStatus === 'CANCELLED' ? 'cancelled' : 'status');
  await announceDispatchWebhook(tx, dispatch, order.client_id, current.status);
  await announceOrderStatus(tx, order, orderBefore.status);
  return { dispatch, order };
}
