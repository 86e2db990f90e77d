/** What may happen to an order on its own (its status otherwise follows its dispatch: domain/dispatch-status.ts). */
import type { OrderStatus } from './dispatch-status.js';

/** An order can be cancelled until it is on the road: before assignment, or assigned but not yet picked up. */
export const CANCELLABLE_ORDER_STATUSES: readonly OrderStatus[] = ['PENDING', 'ASSIGNED'];

/** Addresses, cargo and weight can change only while nobody is assigned to carry the order. */
export const CHANGEABLE_ORDER_STATUSES: readonly OrderStatus[] = ['PENDING'];

export type OrderRefusal = { code: 'order_not_cancellable' | 'order_not_pending'; message: string };

export function orderCancelRefusal(id: number, status: OrderStatus): OrderRefusal | undefined {
  if (CANCELLABLE_ORDER_STATUSES.includes(status)) return undefined;
  return { code: 'order_not_cancellable', message: `order ${id} is ${status} and can no longer be cancelled` };
}

export function orderChangeRefusal(id: number, status: OrderStatus): OrderRefusal | undefined {
  if (CHANGEABLE_ORDER_STATUSES.includes(status)) return undefined;
  return { code: 'order_not_pending', message: `order ${id} is ${status}; only PENDING orders can be changed` };
}
