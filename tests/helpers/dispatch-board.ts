/** Fleets, orders and driving history for the dispatch suggestion and plan tests (tests/*\/dispatch-*.test.ts). */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/knex.js';
import type { ApiClient } from './api-client.js';
import { createDriver, createOrder, createVehicle } from './fixtures.js';

export const GANGNAM = { lat: 37.5172, lng: 127.0473 };
export const BUSAN = { lat: 35.1631, lng: 129.1635 };
/** About 1 km north of Gangnam's centre. */
export const NEAR_GANGNAM = { lat: 37.5262, lng: 127.0473 };

/** A vehicle (REFRIGERATED, 5 t unless told) at `base`, with one driver registered to it. */
export async function createPair(
  api: ApiClient,
  admin: string,
  options: { vehicle?: Record<string, unknown>; base?: { lat: number; lng: number } | null } = {},
) {
  const vehicle = await createVehicle(api, admin, { base: options.base === undefined ? NEAR_GANGNAM : options.base, ...options.vehicle });
  const driver = await createDriver(api, admin, { vehicle_id: vehicle.id });
  return { vehicleId: vehicle.id, driverId: driver.id };
}

/** A chilled 1-t order picked up in Gangnam (coordinates given, so no worker is needed to place it). */
export function createPlacedOrder(api: ApiClient, token: string, overrides: Record<string, unknown> = {}) {
  return createOrder(api, token, { pickup_lat: GANGNAM.lat, pickup_lng: GANGNAM.lng, weight: 1000, ...overrides });
}

/** Takes the demo fleet (vehicles 1 to 5) out of play, so a test's own pairs are the only candidates. */
export async function retireDemoFleet(db: Db): Promise<void> {
  await db('vehicles').whereIn('id', [1, 2, 3, 4, 5]).update({ active: false });
}

/**
 * A finished trip of a driver, written straight into the tables as the API and the dispatches worker
 * would have: a COMPLETED dispatch of a COMPLETED order, and its status history with the driving
 * (PICKED_UP to DELIVERED) from `start` to `end` (or, with `driving: false`, straight from ASSIGNED to COMPLETED,
 * as the seed's client does: an assignment without driving).
 */
export async function pastTrip(db: Db, trip: { driverId: number; vehicleId: number; start: Date; end: Date; driving?: boolean }): Promise<number> {
  const [order] = await db('orders')
    .insert({
      client_id: 1,
      pickup_address: '서울시 강남구 테헤란로 1',
      delivery_address: '부산시 해운대구 우동 1',
      cargo_type: 'CHILLED',
      weight_kg: 100,
      status: 'COMPLETED',
      created_at: new Date(trip.start.getTime() - 20 * 60_000),
    })
    .returning('id');
  const [dispatch] = await db('dispatches')
    .insert({
      order_id: order.id,
      vehicle_id: trip.vehicleId,
      driver_id: trip.driverId,
      status: 'COMPLETED',
      created_at: new Date(trip.start.getTime() - 10 * 60_000),
      updated_at: trip.end,
      finished_at: trip.end,
    })
    .returning('id');
  const history: [string, string | null, Date][] =
    trip.driving === false
      ? [
          ['ASSIGNED', null, new Date(trip.start.getTime() - 10 * 60_000)],
          ['COMPLETED', 'ASSIGNED', trip.end],
        ]
      : [
          ['ASSIGNED', null, new Date(trip.start.getTime() - 10 * 60_000)],
          ['PICKED_UP', 'ASSIGNED', trip.start],
          ['DELIVERED', 'PICKED_UP', trip.end],
          ['COMPLETED', 'DELIVERED', trip.end],
        ];
  await db('dispatch_status_history').insert(
    history.map(([to, from, at]) => ({
      event_id: Math.floor(Math.random() * 2 ** 40),
      event_key: randomUUID(),
      dispatch_id: dispatch.id,
      from_status: from,
      to_status: to,
      changed_at: at,
    })),
  );
  return dispatch.id as number;
}
