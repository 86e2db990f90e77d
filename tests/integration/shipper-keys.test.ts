/**
 * Shipper API keys (issue 16 item 1) over HTTP: admins create them bound to one client; a key
 * creates and reads its client's orders, reads their dispatches and temperature records, and
 * nothing else (403 on every other route, enumerated from the OpenAPI document, so a route
 * added later is covered too); another client's records are a 404, as if they did not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
/** Two shippers, each with a key and an order that has a dispatch. */
const shippers: { clientId: number; key: string; orderId: number; dispatchId: number }[] = [];

const withKey = (key: string, method: string, path: string, json?: unknown, headers: Record<string, string> = {}) =>
  uvis.api.request(method, path, { json, headers: { 'x-api-key': key, ...headers } });

async function createClient(name: string): Promise<number> {
  const res = await uvis.api.post('/api/v1/clients', { name }, admin);
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function createKey(body: Record<string, unknown>) {
  return uvis.api.post('/api/v1/admin/api-keys', body, admin);
}

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  admin = await uvis.api.login();
  for (const name of ['한빛식품', '푸른제약']) {
    const clientId = await createClient(name);
    const created = await createKey({ name: `${name} 연동`, role: 'shipper', client_id: clientId });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ role: 'shipper', client_id: clientId, vehicle_id: null });
    const order = await createOrder(uvis.api, admin, { client_id: clientId });
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin);
    const dispatch = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
    expect(dispatch.status, dispatch.text).toBe(201);
    shippers.push({ clientId, key: created.body.key, orderId: order.id, dispatchId: dispatch.body.id });
  }
});
afterAll(async () => {
  await uvis?.stop();
});

describe('creating shipper keys', () => {
  it('binds a shipper key to an existing client, and refuses a missing, unknown or mismatched binding naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', role: 'shipper' }, 'body.client_id'],
      [{ name: 'x', role: 'shipper', client_id: shippers[0]!.clientId, vehicle_id: 1 }, 'body.vehicle_id'],
      [{ name: 'x', role: 'shipper', client_id: 999_999 }, 'body.client_id'],
      [{ name: 'x', role: 'telematics', client_id: shippers[0]!.clientId }, 'body.vehicle_id'],
      [{ name: 'x', role: 'owner', client_id: shippers[0]!.clientId }, 'body.role'],
    ];
    const before = (await uvis.api.get('/api/v1/admin/api-keys', admin)).body.items.length;
    for (const [body, field] of cases) {
      const res = await createKey(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    expect((await uvis.api.get('/api/v1/admin/api-keys', admin)).body.items).toHaveLength(before);
  });
});

describe('what a shipper key may do', () => {
  it('creates orders for its own client only, with Idempotency-Key replays of its own', async () => {
    const [a, b] = shippers as [(typeof shippers)[0], (typeof shippers)[0]];
    const order = { pickup_address: '서울시 송파구 가락시장', delivery_address: '대전시 유성구 1', cargo_type: '냉장', weight: 250 };
    const created = await withKey(a.key, 'POST', '/api/v1/orders', order, { 'idempotency-key': 'ship-1' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ client_id: a.clientId, status: 'PENDING', created_by: null });
    const replay = await withKey(a.key, 'POST', '/api/v1/orders', order, { 'idempotency-key': 'ship-1' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(created.body.id);
    // The same key string from another owner is another request.
    const other = await withKey(b.key, 'POST', '/api/v1/orders', order, { 'idempotency-key': 'ship-1' });
    expect(other.status).toBe(201);
    expect(other.body).toMatchObject({ client_id: b.clientId });
    expect(other.body.id).not.toBe(created.body.id);
    // Naming another client is refused like an unknown client, and stores nothing.
    const count = async () => (await uvis.api.get(`/api/v1/orders?client_id=${b.clientId}&limit=100`, admin)).body.items.length;
    const ordersOfB = await count();
    const foreign = await withKey(a.key, 'POST', '/api/v1/orders', { ...order, client_id: b.clientId });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details[0].field).toBe('body.client_id');
    expect(await count()).toBe(ordersOfB);
    // Staff still name the client.
    const staff = await uvis.api.post('/api/v1/orders', order, admin);
    expect(staff.status).toBe(400);
    expect(staff.body.error.details[0].field).toBe('body.client_id');
  });

  it("lists and reads its own client's orders, dispatches and temperature records; another client's are 404", async () => {
    const [a, b] = shippers as [(typeof shippers)[0], (typeof shippers)[0]];
    const list = await withKey(a.key, 'GET', '/api/v1/orders?limit=100');
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThan(0);
    expect(new Set(list.body.items.map((o: { client_id: number }) => o.client_id))).toEqual(new Set([a.clientId]));
    expect((await withKey(a.key, 'GET', `/api/v1/orders?client_id=${b.clientId}`)).body.items).toEqual([]);

    for (const [path, own, foreign, suffix] of [
      ['orders', a.orderId, b.orderId, ''],
      ['dispatches', a.dispatchId, b.dispatchId, ''],
      ['dispatches', a.dispatchId, b.dispatchId, '/events'],
    ] as const) {
      const mine = await withKey(a.key, 'GET', `/api/v1/${path}/${own}${suffix}`);
      expect(mine.status, mine.text).toBe(200);
      if (suffix === '') expect(mine.body.id).toBe(own);
      else expect(mine.body.items).toEqual([]);
      const theirs = await withKey(a.key, 'GET', `/api/v1/${path}/${foreign}${suffix}`);
      expect(theirs.status).toBe(404);
      // Exactly what a missing record answers: nothing to tell them apart.
      const missing = await withKey(a.key, 'GET', `/api/v1/${path}/999999${suffix}`);
      expect(theirs.body.error).toEqual(missing.body.error);
    }
    const report = await withKey(a.key, 'GET', `/api/v1/dispatches/${a.dispatchId}/temperature-report`);
    expect(report.status).toBe(200);
    expect(report.body.order).toMatchObject({ id: a.orderId, client: { id: a.clientId } });
    expect((await withKey(a.key, 'GET', `/api/v1/dispatches/${b.dispatchId}/temperature-report`)).status).toBe(404);
    const pdf = await withKey(a.key, 'GET', `/api/v1/dispatches/${b.dispatchId}/temperature-report?format=pdf`);
    expect(pdf.status).toBe(404);
  });

  it("manages its own client's webhook endpoints only: another client's endpoint is a 404 on every endpoint route", async () => {
    const [a, b] = shippers as [(typeof shippers)[0], (typeof shippers)[0]];
    const create = (key: string, body: Record<string, unknown>) => withKey(key, 'POST', '/api/v1/webhooks/endpoints', body);
    const mine = await create(a.key, { url: 'http://127.0.0.1:9/a', events: ['*'] });
    expect(mine.status, mine.text).toBe(201);
    expect(mine.body).toMatchObject({ client_id: a.clientId });
    expect(mine.body.secret).toMatch(/^whsec_/);
    const theirs = await create(b.key, { url: 'http://127.0.0.1:9/b', events: ['order.created'] });
    expect(theirs.status).toBe(201);
    // Naming another client is refused like an unknown client.
    const foreign = await create(a.key, { url: 'http://127.0.0.1:9/x', events: ['*'], client_id: b.clientId });
    expect([foreign.status, foreign.body.error.details[0].field]).toEqual([400, 'body.client_id']);

    const listed = await withKey(a.key, 'GET', '/api/v1/webhooks/endpoints');
    expect(listed.body.items.map((e: { id: number }) => e.id)).toEqual([mine.body.id]);
    for (const [method, path, body] of [
      ['GET', `/api/v1/webhooks/endpoints/${theirs.body.id}`, undefined],
      ['PATCH', `/api/v1/webhooks/endpoints/${theirs.body.id}`, { enabled: false }],
      ['POST', `/api/v1/webhooks/endpoints/${theirs.body.id}/rotate-secret`, undefined],
      ['GET', `/api/v1/webhooks/endpoints/${theirs.body.id}/deliveries`, undefined],
      ['DELETE', `/api/v1/webhooks/endpoints/${theirs.body.id}`, undefined],
    ] as const) {
      const res = await withKey(a.key, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await withKey(a.key, 'GET', `/api/v1/webhooks/endpoints/${mine.body.id}`)).status).toBe(200);
    // The other client's endpoint is untouched.
    expect((await uvis.api.get(`/api/v1/webhooks/endpoints/${theirs.body.id}`, admin)).body).toMatchObject({ id: theirs.body.id, enabled: true });
  });

  it("reads a dispatch without the carrier's internal notes or staff ids", async () => {
    const [a] = shippers as [(typeof shippers)[0]];
    await uvis.running.deps.db('dispatches').where({ id: a.dispatchId }).update({ notes: '내부 메모: 기사 연락처 010-1234-5678' });
    await uvis.running.deps.db('dispatch_status_history').insert({
      event_id: 999_999,
      dispatch_id: a.dispatchId,
      from_status: 'ASSIGNED',
      to_status: 'ACCEPTED',
      changed_by: 1,
      changed_at: new Date(),
      note: '허리 아파서 늦음',
    });
    const staff = await uvis.api.get(`/api/v1/dispatches/${a.dispatchId}`, admin);
    expect(staff.body.notes).toContain('내부 메모');
    const res = await withKey(a.key, 'GET', `/api/v1/dispatches/${a.dispatchId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: a.dispatchId, notes: null, assigned_by: null });
    expect(res.body.history.length).toBeGreaterThan(0);
    for (const h of res.body.history) expect(h).toMatchObject({ changed_by: null, note: null });
    expect(res.text).not.toMatch(/010-1234-5678|허리/);
  });

  it('is refused (403 api_key_not_allowed) on every route not open to shipper keys, and those open to it are exactly the expected ones', async () => {
    const doc = (await uvis.api.get('/api/v1/openapi.json', admin)).body as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    };
    const shipperRoutes: string[] = [];
    const refused: string[] = [];
    let checked = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
        const route = `${method.toUpperCase()} ${path}`;
        if (schemes.includes('shipperApiKey')) shipperRoutes.push(route);
        if (!schemes.includes('bearerAuth') || schemes.includes('shipperApiKey')) continue; // public, gateway-only, or open to shippers
        const url = path.replace(/^\/api\/v1/, '/api/v1').replace(/\{[^}]+\}/g, '1');
        const res = await withKey(shippers[0]!.key, method.toUpperCase(), url);
        checked++;
        if (res.status !== 403 || res.body?.error?.code !== 'api_key_not_allowed') refused.push(`${route} → ${res.status} ${res.text.slice(0, 80)}`);
      }
    }
    expect(refused).toEqual([]);
    expect(checked).toBeGreaterThan(40); // every user route of the reference, not a handful
    expect(shipperRoutes.sort()).toEqual(
      [
        'GET /api/v1/dispatches/{id}',
        'GET /api/v1/dispatches/{id}/events',
        'GET /api/v1/dispatches/{id}/temperature-report',
        'GET /api/v1/dispatches/{id}/proofs',
        'GET /api/v1/proofs/{id}/file',
        'GET /api/v1/orders',
        'GET /api/v1/orders/{id}',
        'POST /api/v1/orders',
        'POST /api/v1/orders/{id}/tracking-link',
        'DELETE /api/v1/orders/{id}/tracking-link',
        'POST /api/v1/webhooks/endpoints',
        'GET /api/v1/webhooks/endpoints',
        'GET /api/v1/webhooks/endpoints/{id}',
        'PATCH /api/v1/webhooks/endpoints/{id}',
        'DELETE /api/v1/webhooks/endpoints/{id}',
        'POST /api/v1/webhooks/endpoints/{id}/rotate-secret',
        'GET /api/v1/webhooks/endpoints/{id}/deliveries',
        'POST /api/v1/webhooks/deliveries/{id}/retry',
      ].sort(),
    );
  });

  it('a telematics key is refused on shipper routes (403), an unknown or revoked key is 401', async () => {
    const vehicle = await createVehicle(uvis.api, admin);
    const gateway = await createKey({ name: 'gateway', vehicle_id: vehicle.id });
    expect(gateway.status, gateway.text).toBe(201);
    expect(gateway.body.role).toBe('telematics');
    const asGateway = await withKey(gateway.body.key, 'GET', '/api/v1/orders');
    expect([asGateway.status, asGateway.body.error.code]).toEqual([403, 'api_key_not_allowed']);
    expect((await withKey(`uvk_${'x'.repeat(43)}`, 'GET', '/api/v1/orders')).status).toBe(401);

    const spare = await createKey({ name: 'spare', role: 'shipper', client_id: shippers[0]!.clientId });
    expect((await withKey(spare.body.key, 'GET', '/api/v1/orders')).status).toBe(200);
    expect((await uvis.api.request('DELETE', `/api/v1/admin/api-keys/${spare.body.id}`, { token: admin })).status).toBe(200);
    const revoked = await withKey(spare.body.key, 'GET', '/api/v1/orders');
    expect([revoked.status, revoked.body.error.code]).toEqual([401, 'invalid_api_key']);
    // A shipper key is no telematics key either.
    const post = await withKey(shippers[0]!.key, 'POST', '/api/v1/telemetry/temperatures', { readings: [] });
    expect([post.status, post.body.error.code]).toEqual([403, 'api_key_not_allowed']);
  });
});
