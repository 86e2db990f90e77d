/**
 * Applies live events to the store at once (so a change shows within moments), then
 * schedules a reload of what it touched: the reload brings what the event does not
 * carry (history notes, list membership under the current filters, counts).
 */
import { loadCounts, loadDispatches, loadExcursions, loadOrders, loadPending, loadPositions, loadProofs, loadTelemetry } from './data.js';
import { changed, state } from './store.js';
import type { DispatchEvent, ExcursionEvent, OrderEvent, PositionsEvent, ProofEvent, QueuesResponse, TemperatureEvent } from './types.js';

const timers = new Map<string, ReturnType<typeof setTimeout>>();

/** Runs fn once, ms after the last request for the same key: a burst of events costs one reload. */
function later(key: string, fn: () => Promise<void>, ms = 300): void {
  clearTimeout(timers.get(key));
  timers.set(
    key,
    setTimeout(() => {
      timers.delete(key);
      fn().catch(() => undefined);
    }, ms),
  );
}

/** Runs fn once, ms after the first request for the same key: a steady stream of events still runs it every ms. */
function within(key: string, fn: () => Promise<void>, ms: number): void {
  if (!timers.has(key)) later(key, fn, ms);
}

/** The order follows its dispatch (the same rule as domain/dispatch-status.ts). */
function orderStatusFor(dispatchStatus: string): string | undefined {
  const map: Record<string, string> = {
    ASSIGNED: 'ASSIGNED',
    ACCEPTED: 'ASSIGNED',
    PICKED_UP: 'IN_TRANSIT',
    IN_TRANSIT: 'IN_TRANSIT',
    DELIVERED: 'COMPLETED',
    COMPLETED: 'COMPLETED',
    CANCELLED: 'PENDING',
    FAILED: 'PENDING',
  };
  return map[dispatchStatus];
}

function setOrderStatus(orderId: number, status: string | undefined): void {
  const order = state.orders.find((o) => o.id === orderId);
  if (order && status && order.status !== status) {
    order.status = status;
    changed('orders');
  }
}

/** The vehicle a driver's phone reports for: the active dispatch's, else the driver's usual one (as the server decides). */
function vehicleOfDriver(driverId: number): number | undefined {
  const dispatch = state.dispatches.find((d) => d.driver_id === driverId);
  if (dispatch) return dispatch.vehicle_id;
  const usual = state.drivers.get(driverId)?.vehicle_id;
  if (usual != null) return usual;
  for (const p of state.positions.values()) if (p.driver_id === driverId) return p.vehicle_id;
  return undefined;
}

function onDispatch(e: DispatchEvent): void {
  const dispatch = state.dispatches.find((d) => d.id === e.dispatch_id);
  if (dispatch) {
    dispatch.status = e.to;
    if (!dispatch.history.some((h) => h.to_status === e.to && h.from_status === e.from)) {
      dispatch.history.push({ from_status: e.from, to_status: e.to, changed_at: e.at, note: null });
    }
    changed('dispatches');
  }
  setOrderStatus(e.order_id, orderStatusFor(e.to));
  later('dispatches', loadDispatches);
  later('orders', loadOrders);
  later('counts', loadCounts);
  later('pending', loadPending);
}

function onOrder(e: OrderEvent): void {
  setOrderStatus(e.order_id, e.status);
  later('orders', loadOrders);
  later('counts', loadCounts);
  later('pending', loadPending);
}

function onPositions(e: PositionsEvent): void {
  let unknown = false;
  for (const p of e.positions) {
    const vehicleId = vehicleOfDriver(p.driver_id);
    const current = vehicleId === undefined ? undefined : state.positions.get(vehicleId);
    if (!current) {
      unknown = true;
      continue;
    }
    if (current.recorded_at && current.recorded_at > p.recorded_at) continue;
    state.positions.set(current.vehicle_id, {
      ...current,
      driver_id: p.driver_id,
      driver_name: state.drivers.get(p.driver_id)?.name ?? current.driver_name,
      latitude: p.latitude,
      longitude: p.longitude,
      recorded_at: p.recorded_at,
    });
  }
  changed('positions');
  if (unknown) later('positions', loadPositions, 1000);
}

/** An excursion opened or closed: that dispatch's excursions (if its section is open) and the counts on every card. */
function onExcursion(e: ExcursionEvent): void {
  if (state.telemetry.has(e.dispatch_id)) later(`excursions:${e.dispatch_id}`, () => loadExcursions(e.dispatch_id), 100);
  later('dispatches', loadDispatches);
}

/**
 * A dispatch's latest reading: the card shows it at once (its level is classified here from the
 * card's limits, as on load). No list reload: the event carries all the card shows. An older
 * reading than the one shown is ignored (events of two workers may cross); an open trip chart is
 * reloaded every few seconds at most, however often readings come.
 */
function onTemperature(e: TemperatureEvent): void {
  const dispatch = state.dispatches.find((d) => d.id === e.dispatch_id);
  if (!dispatch) return;
  if (dispatch.latest_reading && dispatch.latest_reading.recorded_at > e.recorded_at) return;
  dispatch.latest_reading = { temperature_c: e.temperature_c, recorded_at: e.recorded_at, sensor: e.sensor };
  changed('dispatches');
  if (state.telemetry.has(e.dispatch_id)) within(`readings:${e.dispatch_id}`, () => loadTelemetry(e.dispatch_id), 5000);
}

/** A proof was added: the card's counts (what is still missing), and the dispatch's proofs if its section is open. */
function onProof(e: ProofEvent): void {
  if (state.proofs.has(e.dispatch_id)) later(`proofs:${e.dispatch_id}`, () => loadProofs(e.dispatch_id), 100);
  later('dispatches', loadDispatches);
}

export function applyLiveEvent(name: string, data: unknown): void {
  if (name === 'dispatch') onDispatch(data as DispatchEvent);
  else if (name === 'order') onOrder(data as OrderEvent);
  else if (name === 'positions') onPositions(data as PositionsEvent);
  else if (name === 'excursion') onExcursion(data as ExcursionEvent);
  else if (name === 'temperature') onTemperature(data as TemperatureEvent);
  else if (name === 'proof') onProof(data as ProofEvent);
  else if (name === 'queues') {
    state.queues = data as QueuesResponse;
    state.queuesError = false;
    changed('queues');
  }
}
