/** Small builders for test data, created through the API like a real admin would. */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Db } from '../../db/knex.js';
import type { ApiClient } from './api-client.js';

const unique = () => randomBytes(3).toString('hex');

export async function createVehicle(api: ApiClient, adminToken: string, overrides: Record<string, unknown> = {}) {
  const res = await api.post('/api/v1/vehicles', { license_plate: `T${unique()}`, vehicle_type: 'REFRIGERATED', capacity_kg: 5000, ...overrides }, adminToken);
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number };
}

export async function createDriver(api: ApiClient, adminToken: string, overrides: Record<string, unknown> = {}) {
  const res = await api.post('/api/v1/drivers', { name: `기사 ${unique()}`, ...overrides }, adminToken);
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number };
}

/** A driver profile with its own sign-in; returns the driver id and a token. */
export async function createDriverAccount(api: ApiClient, adminToken: string, overrides: Record<string, unknown> = {}) {
  const driver = await createDriver(api, adminToken, overrides);
  const email = `driver-${unique()}@example.com`;
  const password = 'driver-password';
  const user = await api.post('/api/v1/users', { email, password, role: 'driver', driver_id: driver.id }, adminToken);
  expect(user.status, user.text).toBe(201);
  return { driverId: driver.id, userId: user.body.id as number, email, password, token: await api.login({ email, password }) };
}

export async function createOrder(api: ApiClient, token: string, overrides: Record<string, unknown> = {}) {
  const res = await api.post(
    '/api/v1/orders',
    { client_id: 1, pickup_address: '서울시 강남구 테헤란로 1', delivery_address: '부산시 해운대구 우동 1', cargo_type: '냉장', weight: 100, ...overrides },
    token,
  );
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number; status: string };
}

export async function assign(api: ApiClient, token: string, orderId: number, vehicleId: number, driverId: number) {
  return api.post('/api/v1/dispatches', { order_id: orderId, vehicle_id: vehicleId, driver_id: driverId }, token);
}

/**
 * An ASSIGNED dispatch of a new order to a new vehicle and driver, its creation moved `ageMs`
 * back so fixes and readings from that span belong to it.
 */
export async function backdatedDispatch(api: ApiClient, db: Db, adminToken: string, ageMs: number, orderOverrides: Record<string, unknown> = {}) {
  const vehicle = await createVehicle(api, adminToken);
  const driver = await createDriverAccount(api, adminToken);
  const order = await createOrder(api, adminToken, orderOverrides);
  const created = await assign(api, adminToken, order.id, vehicle.id, driver.driverId);
  expect(created.status, created.text).toBe(201);
  const dispatchId = created.body.id as number;
  await db('dispatches')
    .where({ id: dispatchId })
    .update({ created_at: new Date(Date.now() - ageMs) });
  return { vehicleId: vehicle.id, driver, dispatchId, orderId: order.id };
}
