/**
 * Dispatch status moves forward only. Skipping ahead is allowed (drivers forget
 * taps; the seed's client goes straight from ASSIGNED to COMPLETED), going back is not.
 * CANCELLED and FAILED are exits until the goods are handed over: once DELIVERED the
 * order is COMPLETED, and an exit would reopen a delivered order for a second dispatch.
 */

export const DISPATCH_FLOW = ['ASSIGNED', 'ACCEPTED', 'PICKED_UP', 'IN_TRANSIT', 'DELIVERED', 'COMPLETED'] as const;
export const DISPATCH_EXITS = ['CANCELLED', 'FAILED'] as const;
export const DISPATCH_STATUSES = [...DISPATCH_FLOW, ...DISPATCH_EXITS] as const;
export type DispatchStatus = (typeof DISPATCH_STATUSES)[number];

/** Statuses in which a dispatch still holds its order, vehicle and driver (mirrors the partial unique indexes). */
export const ACTIVE_DISPATCH_STATUSES: readonly DispatchStatus[] = ['ASSIGNED', 'ACCEPTED', 'PICKED_UP', 'IN_TRANSIT', 'DELIVERED'];
export const TERMINAL_DISPATCH_STATUSES: readonly DispatchStatus[] = ['COMPLETED', 'CANCELLED', 'FAILED'];

export type TransitionCheck = { kind: 'change' } | { kind: 'same' } | { kind: 'refused'; reason: string };

export function checkTransition(from: DispatchStatus, to: DispatchStatus): TransitionCheck {
  if (from === to) return { kind: 'same' };
  if (TERMINAL_DISPATCH_STATUSES.includes(from)) {
    return { kind: 'refused', reason: `dispatch is already ${from} and cannot change` };
  }
  if ((DISPATCH_EXITS as readonly string[]).includes(to)) {
    if (from === 'DELIVERED') return { kind: 'refused', reason: `dispatch is already DELIVERED and can only be COMPLETED, not ${to}` };
    return { kind: 'change' };
  }
  const fromIndex = DISPATCH_FLOW.indexOf(from as (typeof DISPATCH_FLOW)[number]);
  const toIndex = DISPATCH_FLOW.indexOf(to as (typeof DISPATCH_FLOW)[number]);
  if (toIndex < fromIndex) return { kind: 'refused', reason: `status cannot move back from ${from} to ${to}` };
  return { kind: 'change' };
}

export const ORDER_STATUSES = ['PENDING', 'ASSIGNED', 'IN_TRANSIT', 'COMPLETED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The order follows its dispatch; a cancelled or failed dispatch hands the order back for re-dispatch. */
export function orderStatusFor(dispatch: DispatchStatus): OrderStatus {
  switch (dispatch) {
    case 'ASSIGNED':
    case 'ACCEPTED':
      return 'ASSIGNED';
    case 'PICKED_UP':
    case 'IN_TRANSIT':
      return 'IN_TRANSIT';
    case 'DELIVERED':
    case 'COMPLETED':
      return 'COMPLETED';
    case 'CANCELLED':
    case 'FAILED':
      return 'PENDING';
  }
}
