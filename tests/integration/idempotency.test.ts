/** Idempotency-Key on order and dispatch creation and on status updates: a retry gets the first response and creates nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER } from '../helpers/api-client.js';
import { createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;

const count = async (table: string) => Number((await uvis.running.deps.db(table).count<{ c: string }[]>('* as c'))[0]!.c);

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

const ORDER = { client_id: 1, pickup_address: '서울시 마포구 월드컵로 1', delivery_address: '경기도 김포시 1', cargo_type: 'CHILLED', weight: 10 };

describe('Idempotency-Key', () => {
  it('order creation: a retry returns the first 201 and adds no order and no job', async () => {
    const headers = { 'Idempotency-Key': 'order-retry-1' };
    const first = await uvis.api.post('/api/v1/orders', ORDER, dispatcher, headers);
    expect(first.status).toBe(201);
    const [orders, outbox] = [await count('orders'), await count('outbox')];
    const second = await uvis.api.post('/api/v1/orders', ORDER, dispatcher, headers);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect([await count('orders'), await count('outbox')]).toEqual([orders, outbox]);
  });

  it('concurrent retries with one key create one order', async () => {
    const headers = { 'Idempotency-Key': 'order-race-1' };
    const before = await count('orders');
    const results = await Promise.all(Array.from({ length: 5 }, () => uvis.api.post('/api/v1/orders', ORDER, dispatcher, headers)));
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await count('orders')).toBe(before + 1);
  });

  it('the same key with a different body is refused with 422 and changes nothing', async () => {
    const headers = { 'Idempotency-Key': 'order-reuse-1' };
    expect((await uvis.api.post('/api/v1/orders', ORDER, dispatcher, headers)).status).toBe(201);
    const before = await count('orders');
    const res = await uvis.api.post('/api/v1/orders', { ...ORDER, weight: 11 }, dispatcher, headers);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('idempotency_key_reused');
    expect(await count('orders')).toBe(before);
  });

  it('keys belong to their user: another user with the same key gets a new order', async () => {
    const headers = { 'Idempotency-Key': 'shared-key' };
    const a = await uvis.api.post('/api/v1/orders', ORDER, dispatcher, headers);
    const b = await uvis.api.post('/api/v1/orders', ORDER, admin, headers);
    expect(b.body.id).not.toBe(a.body.id);
  });

  it('a refused request keeps no key: fixing the cause and retrying works', async () => {
    const headers = { 'Idempotency-Key': 'refused-then-fixed' };
    const bad = await uvis.api.post('/api/v1/orders', { ...ORDER, client_id: 999_999 }, dispatcher, headers);
    expect(bad.status).toBe(400);
    expect(await uvis.running.deps.db('idempotency_keys').where({ key: 'refused-then-fixed' }).first()).toBeUndefined();
    const fixed = await uvis.api.post('/api/v1/orders', ORDER, dispatcher, headers);
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    expect(await uvis.running.deps.db('idempotency_keys').where({ key: 'refused-then-fixed' }).first()).toBeDefined();
  });

  it('dispatch creation: a retry returns the first dispatch instead of a busy refusal', async () => {
    const v = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin);
    const order = await createOrder(uvis.api, dispatcher);
    const headers = { 'Idempotency-Key': 'dispatch-retry-1' };
    const body = { order_id: order.id, vehicle_id: v.id, driver_id: driver.driverId };
    const first = await uvis.api.post('/api/v1/dispatches', body, dispatcher, headers);
    expect(first.status).toBe(201);
    const [dispatches, outbox] = [await count('dispatches'), await count('outbox')];
    const second = await uvis.api.post('/api/v1/dispatches', body, dispatcher, headers);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect([await count('dispatches'), await count('outbox')]).toEqual([dispatches, outbox]);
    // Without the key the same request is (rightly) refused: the order is no longer PENDING.
    expect((await uvis.api.post('/api/v1/dispatches', body, dispatcher)).status).toBe(409);
  });

  it('status update: a retried COMPLETED after a later change still answers the first response', async () => {
    const v = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin);
    const order = await createOrder(uvis.api, dispatcher);
    const dispatch = (await uvis.api.post('/api/v1/dispatches', { order_id: order.id, vehicle_id: v.id, driver_id: driver.driverId }, dispatcher)).body;
    const put = (status: string, key: string) =>
      uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatch.id}/status`, {
        json: { status },
        token: driver.token,
        headers: { 'Idempotency-Key': key },
      });
    const first = await put('PICKED_UP', 'status-1');
    expect(first.status).toBe(200);
    expect((await put('IN_TRANSIT', 'status-2')).status).toBe(200);
    const outbox = await count('outbox');
    const retry = await put('PICKED_UP', 'status-1');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await count('outbox')).toBe(outbox);
    expect((await uvis.api.get(`/api/v1/orders/${order.id}`, dispatcher)).body.status).toBe('IN_TRANSIT');
  });

  it('refuses a malformed key', async () => {
    const res = await uvis.api.post('/api/v1/orders', ORDER, dispatcher, { 'Idempotency-Key': 'has spaces in it' });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toBe('headers.idempotency-key');
  });

  describe('GPS posts (keys kept in Redis)', () => {
    const queued = async () => {
      const counts = await uvis.running.deps.queues.locations.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    };
    const post = (token: string, key: string, points: unknown[]) => uvis.api.post('/api/v1/mobile/locations', { points }, token, { 'Idempotency-Key': key });

    it('a retry answers the first 202 (marked replayed) and queues nothing more', async () => {
      const driver = await createDriverAccount(uvis.api, admin);
      const points = [{ latitude: 37.5, longitude: 127.0, point_id: 'a' }];
      const before = await queued();
      const first = await post(driver.token, 'gps-retry-1', points);
      expect(first.status).toBe(202);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const second = await post(driver.token, 'gps-retry-1', points);
      expect(second.status).toBe(202);
      expect(second.body).toEqual(first.body);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(await queued()).toBe(before + 1);
    });

    it('the same key with different points is refused with 422, not silently dropped', async () => {
      const driver = await createDriverAccount(uvis.api, admin);
      expect((await post(driver.token, 'gps-reuse-1', [{ latitude: 37.5, longitude: 127.0 }])).status).toBe(202);
      const before = await queued();
      const reused = await post(driver.token, 'gps-reuse-1', [{ latitude: 35.1, longitude: 129.0 }]);
      expect(reused.status).toBe(422);
      expect(reused.body.error.code).toBe('idempotency_key_reused');
      expect(await queued()).toBe(before);
    });

    it('keys belong to their driver', async () => {
      const [a, b] = [await createDriverAccount(uvis.api, admin), await createDriverAccount(uvis.api, admin)];
      const points = [{ latitude: 37.5, longitude: 127.0 }];
      const first = await post(a.token, 'gps-shared', points);
      const second = await post(b.token, 'gps-shared', points);
      expect(second.status).toBe(202);
      expect(second.headers.get('idempotent-replayed')).toBeNull();
      expect(second.body.job_id).not.toBe(first.body.job_id);
    });
  });
});
