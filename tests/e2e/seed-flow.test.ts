/**
 * The seed plan's end-to-end flow (test_e2e.py), step by step, over real HTTP
 * against a UVIS running API and workers on real PostgreSQL and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { waitFor } from '../helpers/api-client.js';

let uvis: TestUvis;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
});
afterAll(async () => {
  await uvis?.stop();
});

describe('seed end-to-end flow', () => {
  it('logs in with the form body, creates an order and a dispatch, completes it as the driver, and reads the order as COMPLETED', async () => {
    const { api } = uvis;
    const login = await api.request('POST', '/api/v1/auth/login', { form: { username: 'test@example.com', password: 'testpass' } });
    expect(login.status).toBe(200);
    expect(login.body.token_type).toBe('bearer');
    const token = login.body.access_token;

    const order = await api.post(
      '/api/v1/orders',
      { client_id: 1, pickup_address: '서울시 강남구', delivery_address: '부산시 해운대구', cargo_type: '냉장', weight: 100.0 },
      token,
    );
    expect(order.status).toBe(201);
    const orderId = order.body.id;
    expect(order.body).toMatchObject({ status: 'PENDING', cargo_type: 'CHILLED', cargo_label: '냉장', weight: 100 });

    const dispatch = await api.post('/api/v1/dispatches', { order_id: orderId, vehicle_id: 1, driver_id: 1 }, token);
    expect(dispatch.status).toBe(201);
    const dispatchId = dispatch.body.id;

    const status = await api.request('PUT', `/api/v1/mobile/dispatches/${dispatchId}/status`, { json: { status: 'COMPLETED' }, token });
    expect(status.status).toBe(200);

    const check = await api.get(`/api/v1/orders/${orderId}`, token);
    expect(check.body.status).toBe('COMPLETED');

    // The workers did their part too: distance estimated, history written from the outbox events.
    const estimated = await waitFor(
      async () => {
        const res = await api.get(`/api/v1/orders/${orderId}`, token);
        return res.body.distance_km ? res.body : undefined;
      },
      { what: 'distance estimate' },
    );
    expect(estimated.distance_km).toBeGreaterThan(300);
    expect(estimated.distance_km).toBeLessThan(340);
    const history = await waitFor(
      async () => {
        const res = await api.get(`/api/v1/dispatches/${dispatchId}`, token);
        return res.body.history.length === 2 ? res.body.history : undefined;
      },
      { what: 'dispatch history' },
    );
    expect(history.map((h: { to_status: string }) => h.to_status)).toEqual(['ASSIGNED', 'COMPLETED']);
  });

  it("serves the Locust file's three requests as the demo account", async () => {
    const { api } = uvis;
    const token = await api.login();
    expect((await api.get('/api/v1/mobile/dispatches', token)).status).toBe(200);
    const summary = await api.get('/api/v1/mobile/summary', token);
    expect(summary.status).toBe(200);
    expect(summary.body.driver_id).toBe(1);
    const location = await api.post('/api/v1/mobile/location', { latitude: 37.5665, longitude: 126.978 }, token);
    expect(location.status).toBe(202);
    expect(location.body.job_id).toBeTruthy();
  });
});
