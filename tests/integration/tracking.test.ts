/**
 * The public tracking page (issue 16 item 5) over HTTP, with workers running: an order carries its
 * tracking_url; the page and its JSON show the status timeline, a position rounded to about 1 km
 * while on board and whether the temperature stayed in range, and nothing personal (driver's name,
 * phone, plate, addresses, exact position); the link is rotated and revoked by staff or the
 * order's shipper key, and an unknown, malformed or revoked token is a 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const PUBLIC_URL = 'https://track.example.com';
let uvis: TestUvis;
let admin: string;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all', env: { PUBLIC_URL: `${PUBLIC_URL}/` } });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
});

const page = async (path: string) => {
  const res = await fetch(`${uvis.baseUrl}${path}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
};
const tokenOf = (url: string) => url.slice(`${PUBLIC_URL}/track/`.length);

describe('the tracking page', () => {
  it('follows an order on the road, and shows nothing personal', async () => {
    const plate = `추적${Math.floor(Math.random() * 9000 + 1000)}`;
    const vehicle = await createVehicle(uvis.api, admin, { license_plate: plate });
    const driver = await createDriverAccount(uvis.api, admin, { name: '홍길동', phone: '010-9876-5432' });
    const order = await createOrder(uvis.api, admin, { pickup_address: '서울시 송파구 가락시장 42', delivery_address: '부산시 해운대구 우동 777' });
    const got = await uvis.api.get(`/api/v1/orders/${order.id}`, admin);
    expect(got.body.tracking_url).toMatch(new RegExp(`^${PUBLIC_URL}/track/[0-9a-f]{64}$`));
    const token = tokenOf(got.body.tracking_url);

    const pending = await uvis.api.get(`/api/v1/track/${token}`);
    expect(pending.status).toBe(200);
    expect(pending.body).toMatchObject({ order_id: order.id, status: { code: 'PENDING', label: '접수' }, position: null, temperature: { state: 'NO_RECORD' } });

    const dispatch = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
    expect(dispatch.status, dispatch.text).toBe(201);
    for (const status of ['ACCEPTED', 'PICKED_UP', 'IN_TRANSIT']) {
      const res = await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatch.body.id}/status`, { json: { status }, token: driver.token });
      expect(res.status, res.text).toBe(200);
    }
    const exact = { latitude: 35.179_612, longitude: 129.075_237 };
    expect((await uvis.api.post('/api/v1/mobile/location', exact, driver.token)).status).toBe(202);
    // The timeline comes from the status history (written by the dispatches worker) and the position from the GPS worker.
    const view = await waitFor(
      async () => {
        const res = await uvis.api.get(`/api/v1/track/${token}`);
        return res.body.position && res.body.timeline.length === 5 ? res.body : undefined;
      },
      { what: 'the timeline and the position on the tracking JSON' },
    );
    expect(view.status).toMatchObject({ code: 'IN_TRANSIT', label: '운송 중', label_en: 'In transit' });
    expect(view.timeline.map((t: { status: string }) => t.status)).toEqual(['PENDING', 'ASSIGNED', 'ACCEPTED', 'PICKED_UP', 'IN_TRANSIT']);
    for (const t of view.timeline) expect(new Date(t.at).getUTCSeconds()).toBe(0);
    expect(view.position).toMatchObject({ latitude: 35.18, longitude: 129.08 });

    const html = await page(`/track/${token}`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('cache-control')).toBe('no-store');
    expect(html.text).toContain('<html lang="ko">');
    expect(html.text).toContain('운송 중 <span class="en">In transit</span>');
    expect(html.text).toContain('35.18, 129.08');
    expect((await page('/track/tracking.css')).status).toBe(200);
    const json = JSON.stringify(view);
    for (const secret of ['홍길동', '010-9876-5432', plate, '가락시장', '우동 777', '35.1796', '129.0752']) {
      expect(html.text, secret).not.toContain(secret);
      expect(json, secret).not.toContain(secret);
    }
  });

  it('says whether the temperature stayed in range', async () => {
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin);
    const order = await createOrder(uvis.api, admin);
    const dispatch = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
    const token = tokenOf((await uvis.api.get(`/api/v1/orders/${order.id}`, admin)).body.tracking_url);
    const db = uvis.running.deps.db;
    await db('temperature_readings').insert({
      vehicle_id: vehicle.id,
      dispatch_id: dispatch.body.id,
      sensor: 'main',
      recorded_at: new Date(),
      temperature_c: 4,
      source: 'gateway',
      received_at: new Date(),
    });
    expect((await uvis.api.get(`/api/v1/track/${token}`)).body.temperature).toEqual({ state: 'IN_RANGE', open_excursion: false });
    await db('temperature_excursions').insert({
      dispatch_id: dispatch.body.id,
      vehicle_id: vehicle.id,
      sensor: 'main',
      kind: 'HIGH',
      severity: 'WARNING',
      status: 'OPEN',
      started_at: new Date(Date.now() - 600_000),
      duration_s: 600,
      readings: 10,
    });
    expect((await uvis.api.get(`/api/v1/track/${token}`)).body.temperature).toEqual({ state: 'OUT_OF_RANGE', open_excursion: true });
    expect((await page(`/track/${token}`)).text).toContain('온도 기준 이탈 있음');
  });

  it('a cancelled dispatch whose order went back to PENDING shows the order waiting, not a cancelled shipment', async () => {
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin);
    const order = await createOrder(uvis.api, admin);
    const dispatch = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
    expect(dispatch.status, dispatch.text).toBe(201);
    const cancel = await uvis.api.post(`/api/v1/dispatches/${dispatch.body.id}/cancel`, { reason: '차량 고장' }, admin);
    expect(cancel.status, cancel.text).toBe(200);
    const got = await uvis.api.get(`/api/v1/orders/${order.id}`, admin);
    expect(got.body.status).toBe('PENDING');
    const view = await uvis.api.get(`/api/v1/track/${tokenOf(got.body.tracking_url)}`);
    expect(view.body.status).toMatchObject({ code: 'PENDING', label: '접수' });
  });

  it('is rotated and revoked by staff or the order’s shipper key; old, revoked, unknown and malformed tokens are 404', async () => {
    const client = await uvis.api.post('/api/v1/clients', { name: '추적식품' }, admin);
    const key = (await uvis.api.post('/api/v1/admin/api-keys', { name: 'k', role: 'shipper', client_id: client.body.id }, admin)).body.key;
    const order = await createOrder(uvis.api, admin, { client_id: client.body.id });
    const otherOrder = await createOrder(uvis.api, admin);
    const first = tokenOf((await uvis.api.get(`/api/v1/orders/${order.id}`, admin)).body.tracking_url);

    const rotated = await uvis.api.request('POST', `/api/v1/orders/${order.id}/tracking-link`, { headers: { 'x-api-key': key } });
    expect(rotated.status, rotated.text).toBe(200);
    const second = tokenOf(rotated.body.tracking_url);
    expect(second).not.toBe(first);
    expect((await uvis.api.get(`/api/v1/track/${first}`)).status).toBe(404);
    expect((await page(`/track/${first}`)).status).toBe(404);
    expect((await uvis.api.get(`/api/v1/track/${second}`)).status).toBe(200);
    // Another client's order is not the key's to touch.
    expect((await uvis.api.request('POST', `/api/v1/orders/${otherOrder.id}/tracking-link`, { headers: { 'x-api-key': key } })).status).toBe(404);

    const revoked = await uvis.api.request('DELETE', `/api/v1/orders/${order.id}/tracking-link`, { token: admin });
    expect(revoked.status).toBe(200);
    expect(revoked.body.tracking_url).toBeNull();
    expect((await uvis.api.get(`/api/v1/track/${second}`)).status).toBe(404);
    expect((await page(`/track/${second}`)).status).toBe(404);
    for (const bad of ['0'.repeat(64), 'not-a-token', `${second}x`]) {
      expect((await uvis.api.get(`/api/v1/track/${bad}`)).status, bad).toBe(404);
    }
  });
});
