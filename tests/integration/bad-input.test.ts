/** Bad bodies and parameters each get their status and a clear error, and change nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, type RequestOptions } from '../helpers/api-client.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let dispatcher: string;
let admin: string;

const ORDER = { client_id: 1, pickup_address: '서울시 강남구', delivery_address: '부산시 해운대구', cargo_type: '냉장', weight: 100 };

async function snapshot() {
  const db = uvis.running.deps.db;
  const count = async (table: string) => Number((await db(table).count<{ c: string }[]>('* as c'))[0]!.c);
  const jobs = await uvis.running.deps.queues.locations.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  return {
    orders: await count('orders'),
    dispatches: await count('dispatches'),
    outbox: await count('outbox'),
    locations: await count('vehicle_locations'),
    idempotency: await count('idempotency_keys'),
    locationJobs: Object.values(jobs).reduce((a, b) => a + b, 0),
    orderRows: await db('orders').orderBy('id').select('id', 'status', 'weight_kg', 'pickup_address'),
  };
}

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
});

const cursorOf = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

type Case = [name: string, method: string, path: string, options: () => RequestOptions, status: number, code: string, field?: string];

const cases: Case[] = [
  ['wrong type', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, weight: 'heavy' } }), 400, 'validation_failed', 'body.weight'],
  ['missing field', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, pickup_address: undefined } }), 400, 'validation_failed', 'body.pickup_address'],
  ['negative weight', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, weight: -5 } }), 400, 'validation_failed', 'body.weight'],
  ['unknown cargo type', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, cargo_type: '뜨거움' } }), 400, 'validation_failed', 'body.cargo_type'],
  ['status set on create', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, status: 'COMPLETED' } }), 400, 'validation_failed', 'body'],
  ['unknown client', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, client_id: 424242 } }), 400, 'validation_failed', 'body.client_id'],
  ['not JSON at all', 'POST', '/api/v1/orders', () => ({ body: '{"client_id": 1,', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json'],
  ['huge body', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, notes: 'x'.repeat(20_000) } }), 413, 'payload_too_large'],
  ['text/plain body', 'POST', '/api/v1/orders', () => ({ body: 'client_id=1', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
  ['form body where JSON is required', 'POST', '/api/v1/orders', () => ({ form: { client_id: '1' } }), 415, 'unsupported_media_type'],
  ['latitude out of range', 'POST', '/api/v1/mobile/location', () => ({ json: { latitude: 91, longitude: 127 } }), 400, 'validation_failed', 'body.latitude'],
  [
    'longitude out of range',
    'POST',
    '/api/v1/mobile/location',
    () => ({ json: { latitude: 37, longitude: -181 } }),
    400,
    'validation_failed',
    'body.longitude',
  ],
  [
    'latitude as a string',
    'POST',
    '/api/v1/mobile/location',
    () => ({ json: { latitude: '37.5', longitude: 127 } }),
    400,
    'validation_failed',
    'body.latitude',
  ],
  [
    'location body over its limit',
    'POST',
    '/api/v1/mobile/location',
    () => ({ json: { latitude: 37, longitude: 127, point_id: 'x'.repeat(3000) } }),
    413,
    'payload_too_large',
  ],
  ['empty batch', 'POST', '/api/v1/mobile/locations', () => ({ json: { points: [] } }), 400, 'validation_failed', 'body.points'],
  [
    'batch over 500 points',
    'POST',
    '/api/v1/mobile/locations',
    () => ({ json: { points: Array.from({ length: 501 }, () => ({ latitude: 37, longitude: 127 })) } }),
    400,
    'validation_failed',
    'body.points',
  ],
  [
    'a fix time an hour ahead',
    'POST',
    '/api/v1/mobile/location',
    () => ({ json: { latitude: 37, longitude: 127, recorded_at: new Date(Date.now() + 3600_000).toISOString() } }),
    400,
    'validation_failed',
    'body.recorded_at',
  ],
  [
    'a fix time 31 days old in a batch',
    'POST',
    '/api/v1/mobile/locations',
    () => ({
      json: {
        points: [
          { latitude: 37, longitude: 127 },
          { latitude: 37, longitude: 127, recorded_at: new Date(Date.now() - 31 * 86_400_000).toISOString() },
        ],
      },
    }),
    400,
    'validation_failed',
    'body.points.1.recorded_at',
  ],
  [
    'one bad point in a batch',
    'POST',
    '/api/v1/mobile/locations',
    () => ({ json: { points: [{ latitude: 37, longitude: 127 }, { latitude: 37 }] } }),
    400,
    'validation_failed',
    'body.points.1.longitude',
  ],
  ['unknown status', 'PUT', '/api/v1/mobile/dispatches/1/status', () => ({ json: { status: 'FLYING' } }), 400, 'validation_failed', 'body.status'],
  ['bad id in the path', 'GET', '/api/v1/orders/abc', () => ({}), 400, 'validation_failed', 'params.id'],
  ['negative id in the path', 'GET', '/api/v1/orders/-3', () => ({}), 400, 'validation_failed', 'params.id'],
  ['limit out of range', 'GET', '/api/v1/orders?limit=0', () => ({}), 400, 'validation_failed', 'query.limit'],
  ['unknown order status filter', 'GET', '/api/v1/orders?status=LOST', () => ({}), 400, 'validation_failed', 'query.status.0'],
  ['unparseable date filter', 'GET', '/api/v1/orders?created_from=yesterday', () => ({}), 400, 'validation_failed', 'query.created_from'],
  ['unknown query parameter', 'GET', '/api/v1/orders?colour=red', () => ({}), 400, 'validation_failed', 'query'],
  ['a cursor we never issued', 'GET', '/api/v1/orders?cursor=bm90LWEtY3Vyc29y', () => ({}), 400, 'validation_failed', 'query.cursor'],
  ['unknown sort field', 'GET', '/api/v1/orders?sort=weight', () => ({}), 400, 'validation_failed', 'query.sort'],
  ['an id given as true', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, client_id: true } }), 400, 'validation_failed', 'body.client_id'],
  [
    'ids given as a string and an array',
    'POST',
    '/api/v1/dispatches',
    () => ({ json: { order_id: '1', vehicle_id: [1], driver_id: 1 } }),
    400,
    'validation_failed',
    'body.vehicle_id',
  ],
  ['a NUL character in a text field', 'POST', '/api/v1/orders', () => ({ json: { ...ORDER, notes: 'a\u0000b' } }), 400, 'validation_failed', 'body.notes'],
  ['a NUL character in a search', 'GET', '/api/v1/orders?q=%00abc', () => ({}), 400, 'validation_failed', 'query.q'],
  [
    'a NUL character in a sign-in form',
    'POST',
    '/api/v1/auth/login',
    () => ({ form: { username: 'a\u0000b', password: 'x' } }),
    400,
    'validation_failed',
    'body.username',
  ],
  [
    'a NUL character in a GPS point id',
    'POST',
    '/api/v1/mobile/locations',
    () => ({
      json: {
        points: [
          { latitude: 37, longitude: 127, point_id: 'good' },
          { latitude: 37, longitude: 127, point_id: 'bad\u0000' },
        ],
      },
    }),
    400,
    'validation_failed',
    'body.points.1.point_id',
  ],
  [
    'a cursor with an impossible date',
    'GET',
    `/api/v1/orders?cursor=${cursorOf(['2026-13-45 25:61:61+00', 1])}`,
    () => ({}),
    400,
    'validation_failed',
    'query.cursor',
  ],
  [
    'a cursor with an offset past 15 hours',
    'GET',
    `/api/v1/dispatches?cursor=${cursorOf(['9999-12-31 23:59:59+99', 1])}`,
    () => ({}),
    400,
    'validation_failed',
    'query.cursor',
  ],
  ['a cursor with year zero', 'GET', `/api/v1/orders?cursor=${cursorOf(['0000-01-01 00:00:00Z', 1])}`, () => ({}), 400, 'validation_failed', 'query.cursor'],
  ['a cursor with a fractional id', 'GET', `/api/v1/clients?cursor=${cursorOf([1.5])}`, () => ({}), 400, 'validation_failed', 'query.cursor'],
  ['a cursor with an id beyond bigint', 'GET', `/api/v1/clients?cursor=${cursorOf([1e300])}`, () => ({}), 400, 'validation_failed', 'query.cursor'],
  ['a path that is not valid percent-encoding', 'GET', '/api/v1/orders/%E0%A4%A', () => ({}), 400, 'bad_request'],
  ['unknown route', 'GET', '/api/v1/nowhere', () => ({}), 404, 'not_found'],
  ['body on a route that takes none', 'POST', '/api/v1/vehicles/1/deactivate', () => ({ token: admin, json: { active: true } }), 415, 'unsupported_media_type'],
];

describe('bad input', () => {
  it.each(cases)('%s', async (_name, method, path, options, status, code, field) => {
    const before = await snapshot();
    const token = path.startsWith('/api/v1/mobile') ? admin : dispatcher;
    const res = await uvis.api.request(method, path, { token, ...options() });
    expect(res.status, res.text).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
    if (field) expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await snapshot()).toEqual(before);
  });

  it('reports every problem of a body at once', async () => {
    const res = await uvis.api.post('/api/v1/orders', { client_id: 'one', weight: 'heavy', cargo_type: 'hot' }, dispatcher);
    expect(res.status).toBe(400);
    const fields = res.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['body.client_id', 'body.weight', 'body.cargo_type', 'body.pickup_address', 'body.delivery_address']));
  });
});
