/**
 * The page's state and a tiny change bus: loaders write here and announce a topic;
 * each panel re-renders on its own topics only.
 */
import type { ActiveDispatch, Client, Driver, Order, ProofsOfDispatch, QueuesResponse, Session, Telemetry, Vehicle, VehiclePosition } from './types.js';

export type Topic = 'reference' | 'orders' | 'counts' | 'pending' | 'dispatches' | 'positions' | 'queues' | 'clock' | 'telemetry' | 'proofs';

export interface OrderFilters {
  status: string;
  q: string;
  cargo: string;
  client: string;
}

export const state = {
  session: undefined as Session | undefined,
  clients: new Map<number, Client>(),
  vehicles: new Map<number, Vehicle>(),
  drivers: new Map<number, Driver>(),
  orders: [] as Order[],
  ordersCursor: null as string | null,
  orderCounts: {} as Record<string, number>,
  filters: { status: '', q: '', cargo: '', client: '' } as OrderFilters,
  pendingOrders: [] as Order[],
  dispatches: [] as ActiveDispatch[],
  /** By vehicle id. */
  positions: new Map<number, VehiclePosition>(),
  /** Server clock minus page clock, so staleness is judged on the server's time. */
  serverOffsetMs: 0,
  staleAfterMs: 600_000,
  queues: undefined as QueuesResponse | undefined,
  queuesError: false,
  /** Readings and excursions of the dispatches whose temperature section is open, by dispatch id. */
  telemetry: new Map<number, Telemetry>(),
  /** Proofs of the dispatches whose proof section is open, by dispatch id. */
  proofs: new Map<number, ProofsOfDispatch>(),
};

const bus = new EventTarget();

export function changed(...topics: Topic[]): void {
  for (const topic of topics) bus.dispatchEvent(new Event(topic));
}

export function on(topics: Topic[], listener: () => void): void {
  for (const topic of topics) bus.addEventListener(topic, listener);
}

export function serverNow(): number {
  return Date.now() + state.serverOffsetMs;
}
