/**
 * The security battery: injection, stored scripts, forged and stale tokens, broken
 * authorization, mass assignment and hostile bodies. Every row asserts the status
 * and that the database did not change.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginPage } from '../../dashboard/login-page.js';
import { DEMO_DISPATCHER, DEMO_DRIVER2, type RequestOptions } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
const t = {} as Record<string, string>;
const token = (name: string) => t[name]!;
let otherDispatchId = 0;
let driverUserId = 0;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  t.admin = await uvis.api.login();
  t.dispatcher = await uvis.api.login(DEMO_DISPATCHER);
  t.driver2 = await uvis.api.login(DEMO_DRIVER2);
  const other = await createDriverAccount(uvis.api, t.admin);
  const order = await createOrder(uvis.api, token('dispatcher'));
  otherDispatchId = (await assign(uvis.api, t.dispatcher, order.id, (await createVehicle(uvis.api, t.admin)).id, other.driverId)).body.id;

  const key = new TextEncoder().encode(uvis.config.jwtSecret);
  const [header, payload] = t.dispatcher.split('.') as [string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  t.tampered = `${header}.${b64({ ...claims, sub: '1' })}.${t.dispatcher.split('.')[2]}`;
  t.algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, sub: '1' })}.`;
  t.algNoneWithSig = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, sub: '1' })}.AAAA`;
  t.otherSecret = await new SignJWT({ sid: claims.sid })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuer('uvis')
    .setAudience('uvis-api')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode('x'.repeat(48)));
  t.expired = await new SignJWT({ sid: claims.sid })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuer('uvis')
    .setAudience('uvis-api')
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(key);
  const revoked = (await uvis.api.post('/api/v1/auth/login', { username: DEMO_DISPATCHER.email, password: DEMO_DISPATCHER.password })).body.access_token;
  await uvis.api.post('/api/v1/auth/logout', undefined, revoked);
  t.revoked = revoked;
  const deactivated = await createDriverAccount(uvis.api, t.admin);
  driverUserId = deactivated.userId;
  t.deactivated = deactivated.token;
  await uvis.api.post(`/api/v1/users/${deactivated.userId}/deactivate`, undefined, t.admin);
});
afterAll(async () => {
  await uvis?.stop();
});

type Row = [name: string, method: string, path: string | (() => string), token: string | undefined, options: () => RequestOptions, status: number];

const SQLI = ["' OR 1=1 --", '1; DROP TABLE orders; --', "1' UNION SELECT password_hash FROM users --", '1)) OR ((1=1', '$1', "\\'; DELETE FROM users; --"];

const injectionRows: Row[] = SQLI.flatMap((s): Row[] => {
  const e = encodeURIComponent(s);
  return [
    [`status filter ${s}`, 'GET', `/api/v1/orders?status=${e}`, 'dispatcher', () => ({}), 400],
    [`client filter ${s}`, 'GET', `/api/v1/orders?client_id=${e}`, 'dispatcher', () => ({}), 400],
    [`cargo filter ${s}`, 'GET', `/api/v1/orders?cargo_type=${e}`, 'dispatcher', () => ({}), 400],
    [`date filter ${s}`, 'GET', `/api/v1/orders?created_from=${e}`, 'dispatcher', () => ({}), 400],
    [`sort ${s}`, 'GET', `/api/v1/orders?sort=${e}`, 'dispatcher', () => ({}), 400],
    [`limit ${s}`, 'GET', `/api/v1/orders?limit=${e}`, 'dispatcher', () => ({}), 400],
    [`cursor ${s}`, 'GET', `/api/v1/orders?cursor=${e}`, 'dispatcher', () => ({}), 400],
    [`search ${s}`, 'GET', `/api/v1/orders?q=${e}`, 'dispatcher', () => ({}), 200],
    [`dispatch filter ${s}`, 'GET', `/api/v1/dispatches?driver_id=${e}`, 'dispatcher', () => ({}), 400],
    [`active filter ${s}`, 'GET', `/api/v1/vehicles?active=${e}`, 'dispatcher', () => ({}), 400],
    [`order id ${s}`, 'GET', `/api/v1/orders/${e}`, 'dispatcher', () => ({}), 400],
    [`dispatch id ${s}`, 'GET', `/api/v1/dispatches/${e}`, 'dispatcher', () => ({}), 400],
    [`driver id ${s}`, 'GET', `/api/v1/drivers/${e}/locations`, 'dispatcher', () => ({}), 400],
    [`location range ${s}`, 'GET', `/api/v1/drivers/1/locations?from=${e}`, 'dispatcher', () => ({}), 400],
    [`job id ${s}`, 'GET', `/api/v1/jobs/orders/${e}`, 'dispatcher', () => ({}), 400],
    [`status update id ${s}`, 'PUT', `/api/v1/mobile/dispatches/${e}/status`, 'driver2', () => ({ json: { status: 'ACCEPTED' } }), 400],
    [`login username ${s}`, 'POST', '/api/v1/auth/login', undefined, () => ({ json: { username: s, password: s } }), 401],
  ];
});

const tokenRows: Row[] = [
  ['no token', 'GET', '/api/v1/orders', undefined, () => ({}), 401],
  ['malformed token', 'GET', '/api/v1/orders', undefined, () => ({ headers: { authorization: 'Bearer not-a-jwt' } }), 401],
  [
    'wrong scheme',
    'GET',
    '/api/v1/orders',
    undefined,
    () => ({ headers: { authorization: `Basic ${Buffer.from('test@example.com:testpass').toString('base64')}` } }),
    401,
  ],
  ['tampered payload', 'GET', '/api/v1/orders', 'tampered', () => ({}), 401],
  ['alg none, no signature', 'GET', '/api/v1/orders', 'algNone', () => ({}), 401],
  ['alg none with a signature', 'GET', '/api/v1/orders', 'algNoneWithSig', () => ({}), 401],
  ['signed with another secret', 'GET', '/api/v1/orders', 'otherSecret', () => ({}), 401],
  ['expired', 'GET', '/api/v1/orders', 'expired', () => ({}), 401],
  ['revoked by logout', 'GET', '/api/v1/orders', 'revoked', () => ({}), 401],
  ['user deactivated', 'GET', '/api/v1/mobile/summary', 'deactivated', () => ({}), 401],
];

const authzRows: Row[] = [
  [
    "driver changes another driver's dispatch",
    'PUT',
    () => `/api/v1/mobile/dispatches/${otherDispatchId}/status`,
    'driver2',
    () => ({ json: { status: 'COMPLETED' } }),
    404,
  ],
  ["driver reads another driver's dispatch", 'GET', () => `/api/v1/dispatches/${otherDispatchId}`, 'driver2', () => ({}), 403],
  ["driver reads another driver's route", 'GET', '/api/v1/drivers/3/locations', 'driver2', () => ({}), 403],
  [
    'driver creates an order',
    'POST',
    '/api/v1/orders',
    'driver2',
    () => ({ json: { client_id: 1, pickup_address: 'a b', delivery_address: 'c d', cargo_type: '냉장', weight: 1 } }),
    403,
  ],
  ['driver cancels a dispatch', 'POST', () => `/api/v1/dispatches/${otherDispatchId}/cancel`, 'driver2', () => ({ json: {} }), 403],
  [
    'dispatcher creates a user',
    'POST',
    '/api/v1/users',
    'dispatcher',
    () => ({ json: { email: 'x@example.com', password: 'long-enough-1', role: 'admin' } }),
    403,
  ],
  ['dispatcher reactivates a user', 'POST', () => `/api/v1/users/${driverUserId}/activate`, 'dispatcher', () => ({}), 403],
  ['dispatcher changes a vehicle', 'PATCH', '/api/v1/vehicles/1', 'dispatcher', () => ({ json: { capacity_kg: 99999 } }), 403],
  ['dispatcher deactivates a driver', 'POST', '/api/v1/drivers/1/deactivate', 'dispatcher', () => ({}), 403],
  ['dispatcher reads accounts', 'GET', '/api/v1/users', 'dispatcher', () => ({}), 403],
  [
    'mass assignment: status on order create',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({ json: { client_id: 1, pickup_address: 'a b', delivery_address: 'c d', cargo_type: '냉장', weight: 1, status: 'COMPLETED' } }),
    400,
  ],
  [
    'mass assignment: id on order create',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({ json: { id: 1, client_id: 1, pickup_address: 'a b', delivery_address: 'c d', cargo_type: '냉장', weight: 1 } }),
    400,
  ],
  [
    'mass assignment: created_by on order create',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({ json: { created_by: 1, client_id: 1, pickup_address: 'a b', delivery_address: 'c d', cargo_type: '냉장', weight: 1 } }),
    400,
  ],
  ['mass assignment: status on order patch', 'PATCH', '/api/v1/orders/1', 'dispatcher', () => ({ json: { status: 'COMPLETED' } }), 400],
  [
    'mass assignment: driver_id on status update',
    'PUT',
    () => `/api/v1/mobile/dispatches/${otherDispatchId}/status`,
    'driver2',
    () => ({ json: { status: 'ACCEPTED', driver_id: 2 } }),
    400,
  ],
  [
    'mass assignment: status on dispatch create',
    'POST',
    '/api/v1/dispatches',
    'dispatcher',
    () => ({ json: { order_id: 1, vehicle_id: 1, driver_id: 1, status: 'COMPLETED' } }),
    400,
  ],
  [
    'mass assignment: password_hash on user create',
    'POST',
    '/api/v1/users',
    'admin',
    () => ({ json: { email: 'y@example.com', password: 'long-enough-1', role: 'dispatcher', password_hash: 'x' } }),
    400,
  ],
  ['mass assignment: active on user patch', 'PATCH', '/api/v1/users/2', 'admin', () => ({ json: { active: false } }), 400],
  [
    'prototype pollution key',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({ body: '{"__proto__":{"role":"admin"},"client_id":1}', headers: { 'content-type': 'application/json' } }),
    400,
  ],
];

const bodyRows: Row[] = [
  ['oversized body', 'POST', '/api/v1/orders', 'dispatcher', () => ({ json: { notes: 'x'.repeat(100_000) } }), 413],
  [
    'deeply nested JSON',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({ body: `{"notes":${'['.repeat(3000)}${']'.repeat(3000)}}`, headers: { 'content-type': 'application/json' } }),
    400,
  ],
  [
    'nesting past the size limit',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({ body: `{"notes":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, headers: { 'content-type': 'application/json' } }),
    413,
  ],
  ['wrong content type (xml)', 'POST', '/api/v1/orders', 'dispatcher', () => ({ body: '<order/>', headers: { 'content-type': 'application/xml' } }), 415],
  ['no content type', 'POST', '/api/v1/orders', 'dispatcher', () => ({ body: '{"client_id":1}', headers: {} }), 415],
  [
    'invalid UTF-8',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({
      body: Buffer.concat([
        Buffer.from('{"client_id":1,"pickup_address":"'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('","delivery_address":"x y","cargo_type":"냉장","weight":1}'),
      ]),
      headers: { 'content-type': 'application/json' },
    }),
    400,
  ],
  [
    'a charset other than UTF-8',
    'POST',
    '/api/v1/orders',
    'dispatcher',
    () => ({ body: '{}', headers: { 'content-type': 'application/json; charset=iso-8859-1' } }),
    415,
  ],
];

describe('security battery', () => {
  it.each([...injectionRows, ...tokenRows, ...authzRows, ...bodyRows])('%s', async (_name, method, path, tokenName, options, status) => {
    const before = await databaseFingerprint(uvis.running.deps.db);
    const res = await uvis.api.request(method, typeof path === 'function' ? path() : path, { token: tokenName ? t[tokenName] : undefined, ...options() });
    expect(res.status, res.text).toBe(status);
    if (status >= 400) {
      expect(res.body.error.code).toEqual(expect.any(String));
      expect(res.text).not.toMatch(/at .+:\d+:\d+|node_modules|syntax error|relation "/);
    }
    expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
  });

  it('search text with SQL in it is only text: no match, nothing run', async () => {
    const res = await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent("' OR '1'='1")}`, t.dispatcher);
    expect(res.body.items).toEqual([]);
  });

  it('stores SQL and script text literally and serves it as JSON, never as HTML', async () => {
    const hostile = `<script>alert('x')</script>'); DROP TABLE orders; --`;
    const order = await createOrder(uvis.api, token('dispatcher'), { pickup_address: `서울시 강남구 ${hostile}`, notes: hostile });
    const read = await uvis.api.get(`/api/v1/orders/${order.id}`, token('dispatcher'));
    expect(read.body.notes).toBe(hostile);
    expect(read.headers.get('content-type')).toMatch(/^application\/json/);
    expect(read.headers.get('x-content-type-options')).toBe('nosniff');
    const driver = await uvis.api.post('/api/v1/drivers', { name: '<img src=x onerror=alert(1)>' }, token('admin'));
    expect(driver.status).toBe(201);
    expect((await uvis.api.get(`/api/v1/drivers/${driver.body.id}`, token('dispatcher'))).body.name).toBe('<img src=x onerror=alert(1)>');
    // The table is still there, with the order in it.
    const [{ c }] = (await uvis.running.deps.db('orders').where({ id: order.id }).count<{ c: string }[]>('* as c')) as [{ c: string }];
    expect(Number(c)).toBe(1);
  });

  it('the HTML sign-in page escapes what it echoes', async () => {
    const res = await fetch(`${uvis.baseUrl}/admin/login?next=${encodeURIComponent('/admin/"><script>alert(1)</script>')}`);
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('value="/admin/queues"');
  });

  it('the sign-in page template escapes every value it is given (next, error, CSRF token)', () => {
    const hostile = `"><script>alert(1)</script><a href='x'>`;
    const html = loginPage({ csrfToken: hostile, next: hostile, error: hostile });
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain(`"><a href='x'>`);
    expect(html.match(/&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;&lt;a href=&#39;x&#39;&gt;/g)).toHaveLength(3);
  });

  it('job payloads carry ids, never tokens or passwords', async () => {
    await uvis.api.post('/api/v1/mobile/location', { latitude: 37, longitude: 127 }, token('admin'));
    await createOrder(uvis.api, token('dispatcher'));
    await uvis.running.deps.relay.relayPending();
    const jobs = [
      ...(await uvis.running.deps.queues.locations.getJobs(['waiting', 'active', 'completed', 'delayed'])),
      ...(await uvis.running.deps.queues.orders.getJobs(['waiting', 'active', 'completed', 'delayed'])),
    ];
    expect(jobs.length).toBeGreaterThan(1);
    const payloads = JSON.stringify(jobs.map((j) => j.data));
    for (const secret of [t.admin, t.dispatcher, 'testpass', 'dispatchpass', uvis.config.jwtSecret]) expect(payloads).not.toContain(secret);
    expect(payloads).not.toMatch(/password|token|authorization/i);
  });
});
