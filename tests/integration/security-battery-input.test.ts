/**
 * Part of the security battery (issue 14): input that looks like something it is not.
 *
 * - Free text (addresses, names, plates, notes, reasons, search) with bidirectional
 *   controls or no visible character is refused with a 400 naming the field; text is
 *   stored and searched in Unicode NFC (item 7).
 * - Database errors name the field in the API's words, never the constraint, index,
 *   table or SQLSTATE (item 9b).
 * - Ids in paths and query strings are canonical decimal only: `0x1`, `1e0`, `2.0`,
 *   ` 1`, `+1`, `01` are not another spelling of record 1 (item 9c).
 *
 * Every row asserts the status, the error code, the field and that the database did
 * not change (tests/helpers/snapshot.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, type RequestOptions } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
const t = { admin: '', dispatcher: '', driver: '' };
type Who = keyof typeof t;
const ids = { order: 0, dispatch: 0, driverDispatch: 0, vehicle: 0, driver: 0, client: 1, user: 0 };
const TAKEN_PLATE = `99가${randomBytes(2).toString('hex')}`;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  t.admin = await uvis.api.login();
  t.dispatcher = await uvis.api.login(DEMO_DISPATCHER);
  const account = await createDriverAccount(uvis.api, t.admin);
  t.driver = account.token;
  ids.driver = account.driverId;
  ids.user = account.userId;
  ids.vehicle = (await createVehicle(uvis.api, t.admin, { license_plate: TAKEN_PLATE })).id;
  ids.order = (await createOrder(uvis.api, t.dispatcher)).id;
  const dispatched = await createOrder(uvis.api, t.dispatcher);
  const res = await assign(uvis.api, t.dispatcher, dispatched.id, ids.vehicle, ids.driver);
  expect(res.status, res.text).toBe(201);
  ids.dispatch = res.body.id;
});
afterAll(async () => {
  await uvis?.stop();
});

const ORDER = { client_id: 1, pickup_address: '서울시 강남구 테헤란로 1', delivery_address: '부산시 해운대구 우동 1', cargo_type: '냉장', weight: 100 };

const RLO = '\u202E';
type Row = [name: string, method: string, path: () => string, token: Who, options: () => RequestOptions, status: number, code: string, field?: string];

// Item 7: bidi controls and text with nothing visible, in every free-text field.
const textRows: Row[] = [
  [
    'order pickup address of zero-width spaces only',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, pickup_address: '\u200B\u200B\u200B' } }),
    400,
    'validation_failed',
    'body.pickup_address',
  ],
  [
    'order pickup address of a BOM, a no-break space and a word joiner',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, pickup_address: '\uFEFF\u00A0\u2060 ' } }),
    400,
    'validation_failed',
    'body.pickup_address',
  ],
  [
    'order pickup address of Hangul fillers only',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, pickup_address: '\u3164\u3164\u3164' } }),
    400,
    'validation_failed',
    'body.pickup_address',
  ],
  [
    'order delivery address with a right-to-left override (구남강 shown as 강남구)',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, delivery_address: `서울시 ${RLO}구남강` } }),
    400,
    'validation_failed',
    'body.delivery_address',
  ],
  [
    'order delivery address with a right-to-left isolate',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, delivery_address: '서울시 \u2067강남구\u2069' } }),
    400,
    'validation_failed',
    'body.delivery_address',
  ],
  [
    'order delivery address with a right-to-left mark',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, delivery_address: '서울시 강남구\u200F' } }),
    400,
    'validation_failed',
    'body.delivery_address',
  ],
  [
    'order delivery address with an Arabic letter mark',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, delivery_address: '서울시 강남구\u061C' } }),
    400,
    'validation_failed',
    'body.delivery_address',
  ],
  [
    'order notes of a zero-width space only',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, notes: '\u200B' } }),
    400,
    'validation_failed',
    'body.notes',
  ],
  [
    'order notes with a left-to-right embedding',
    'POST',
    () => '/api/v1/orders',
    'dispatcher',
    () => ({ json: { ...ORDER, notes: '문 앞\u202A' } }),
    400,
    'validation_failed',
    'body.notes',
  ],
  [
    'order change: pickup address with an override',
    'PATCH',
    () => `/api/v1/orders/${ids.order}`,
    'dispatcher',
    () => ({ json: { pickup_address: `${RLO}구남강 서울시` } }),
    400,
    'validation_failed',
    'body.pickup_address',
  ],
  [
    'order change: notes of spaces only',
    'PATCH',
    () => `/api/v1/orders/${ids.order}`,
    'dispatcher',
    () => ({ json: { notes: '   ' } }),
    400,
    'validation_failed',
    'body.notes',
  ],
  [
    'order cancel reason with an override',
    'POST',
    () => `/api/v1/orders/${ids.order}/cancel`,
    'dispatcher',
    () => ({ json: { reason: `${RLO}소취 객고` } }),
    400,
    'validation_failed',
    'body.reason',
  ],
  [
    'dispatch notes with an override',
    'POST',
    () => '/api/v1/dispatches',
    'dispatcher',
    () => ({ json: { order_id: ids.order, vehicle_id: ids.vehicle, driver_id: ids.driver, notes: `${RLO}abc` } }),
    400,
    'validation_failed',
    'body.notes',
  ],
  [
    'dispatch cancel reason of zero-width joiners',
    'POST',
    () => `/api/v1/dispatches/${ids.dispatch}/cancel`,
    'dispatcher',
    () => ({ json: { reason: '\u200D\u200D' } }),
    400,
    'validation_failed',
    'body.reason',
  ],
  [
    'mobile status note with an override',
    'PUT',
    () => `/api/v1/mobile/dispatches/${ids.dispatch}/status`,
    'driver',
    () => ({ json: { status: 'ACCEPTED', note: `${RLO}착도` } }),
    400,
    'validation_failed',
    'body.note',
  ],
  [
    'vehicle plate with an override',
    'POST',
    () => '/api/v1/vehicles',
    'admin',
    () => ({ json: { license_plate: `12가${RLO}3456`, vehicle_type: 'DRY', capacity_kg: 100 } }),
    400,
    'validation_failed',
    'body.license_plate',
  ],
  [
    'vehicle plate of zero-width characters',
    'POST',
    () => '/api/v1/vehicles',
    'admin',
    () => ({ json: { license_plate: '\u200B\u200C\u200D\u2060', vehicle_type: 'DRY', capacity_kg: 100 } }),
    400,
    'validation_failed',
    'body.license_plate',
  ],
  [
    'vehicle change: plate with an isolate',
    'PATCH',
    () => `/api/v1/vehicles/${ids.vehicle}`,
    'admin',
    () => ({ json: { license_plate: '12가\u20663456' } }),
    400,
    'validation_failed',
    'body.license_plate',
  ],
  ['driver name of a zero-width joiner', 'POST', () => '/api/v1/drivers', 'admin', () => ({ json: { name: '\u200D' } }), 400, 'validation_failed', 'body.name'],
  ['driver name with an override', 'POST', () => '/api/v1/drivers', 'admin', () => ({ json: { name: `${RLO}사기김` } }), 400, 'validation_failed', 'body.name'],
  [
    'driver licence number with an override',
    'POST',
    () => '/api/v1/drivers',
    'admin',
    () => ({ json: { name: '김기사', license_number: `11-${RLO}22-333` } }),
    400,
    'validation_failed',
    'body.license_number',
  ],
  ['client name of a soft hyphen only', 'POST', () => '/api/v1/clients', 'admin', () => ({ json: { name: '\u00AD' } }), 400, 'validation_failed', 'body.name'],
  [
    'client contact name with an override',
    'POST',
    () => '/api/v1/clients',
    'admin',
    () => ({ json: { name: '한빛식품', contact_name: `${RLO}동길홍` } }),
    400,
    'validation_failed',
    'body.contact_name',
  ],
  [
    'client address of zero-width spaces only',
    'POST',
    () => '/api/v1/clients',
    'admin',
    () => ({ json: { name: '한빛식품', address: '\u200B\u200B' } }),
    400,
    'validation_failed',
    'body.address',
  ],
  [
    'client change: address with an override',
    'PATCH',
    () => `/api/v1/clients/${ids.client}`,
    'admin',
    () => ({ json: { address: `서울시 ${RLO}구남강` } }),
    400,
    'validation_failed',
    'body.address',
  ],
  [
    'user name with an override',
    'POST',
    () => '/api/v1/users',
    'admin',
    () => ({ json: { email: `u-${randomBytes(3).toString('hex')}@example.com`, password: 'a-long-enough-password', role: 'dispatcher', name: `${RLO}nimda` } }),
    400,
    'validation_failed',
    'body.name',
  ],
  [
    'user change: name of a zero-width space',
    'PATCH',
    () => `/api/v1/users/${ids.user}`,
    'admin',
    () => ({ json: { name: '\u200B' } }),
    400,
    'validation_failed',
    'body.name',
  ],
  [
    'address search with an override',
    'GET',
    () => `/api/v1/orders?q=${encodeURIComponent(`${RLO}구남강`)}`,
    'dispatcher',
    () => ({}),
    400,
    'validation_failed',
    'query.q',
  ],
  [
    'address search of zero-width spaces only',
    'GET',
    () => `/api/v1/orders?q=${encodeURIComponent('\u200B\u200B')}`,
    'dispatcher',
    () => ({}),
    400,
    'validation_failed',
    'query.q',
  ],
];

// Item 9c: another spelling of id 1 is not id 1. Writes, so that reading it as 1 would change the database.
const SPELLINGS = ['0x1', '1e0', '2.0', '%201', '1%20', '+1', '01', '0', '1.', '0b1', '１', '99999999999999999'];
const idRows: Row[] = SPELLINGS.flatMap((spelling): Row[] => [
  [
    `order change through /orders/${spelling}`,
    'PATCH',
    () => `/api/v1/orders/${spelling}`,
    'dispatcher',
    () => ({ json: { notes: 'changed' } }),
    400,
    'validation_failed',
    'params.id',
  ],
  [
    `vehicle change through /vehicles/${spelling}`,
    'PATCH',
    () => `/api/v1/vehicles/${spelling}`,
    'admin',
    () => ({ json: { capacity_kg: 1234 } }),
    400,
    'validation_failed',
    'params.id',
  ],
  [
    `order list filtered by client_id=${spelling}`,
    'GET',
    () => `/api/v1/orders?client_id=${spelling}`,
    'dispatcher',
    () => ({}),
    400,
    'validation_failed',
    'query.client_id',
  ],
]);
idRows.push([
  'order cancel through /orders/01/cancel',
  'POST',
  () => '/api/v1/orders/01/cancel',
  'dispatcher',
  () => ({}),
  400,
  'validation_failed',
  'params.id',
]);
idRows.push([
  'driver deactivation through /drivers/0x1/deactivate',
  'POST',
  () => `/api/v1/drivers/0x${ids.driver.toString(16)}/deactivate`,
  'admin',
  () => ({}),
  400,
  'validation_failed',
  'params.id',
]);

// Item 9b: a database refusal names the field, not the constraint.
const dbRows: Row[] = [
  [
    'a licence plate already taken',
    'POST',
    () => '/api/v1/vehicles',
    'admin',
    () => ({ json: { license_plate: TAKEN_PLATE, vehicle_type: 'DRY', capacity_kg: 100 } }),
    409,
    'duplicate',
  ],
  [
    'a driver on a vehicle that does not exist',
    'POST',
    () => '/api/v1/drivers',
    'admin',
    () => ({ json: { name: '없는 차량 기사', vehicle_id: 999_999 } }),
    422,
    'invalid_reference',
  ],
  [
    'a user e-mail taken in another case',
    'POST',
    () => '/api/v1/users',
    'admin',
    () => ({ json: { email: 'TEST@Example.com', password: 'a-long-enough-password', role: 'dispatcher' } }),
    409,
    'duplicate',
  ],
];
const DB_FIELDS: Record<string, string> = { duplicate: 'license_plate|email', invalid_reference: 'vehicle_id' };

async function send([, method, path, token, options]: Row) {
  return uvis.api.request(method, path(), { token: t[token], ...options() });
}

describe('security battery: input (issue 14)', () => {
  it.each([...textRows, ...idRows])('%s is refused', async (...row) => {
    const [, , , , , status, code, field] = row;
    const before = await databaseFingerprint(uvis.running.deps.db);
    const res = await send(row);
    expect(res.status, res.text).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
  });

  it.each(dbRows)('%s: the response names the field, not the constraint', async (...row) => {
    const [, , , , , status, code] = row;
    const before = await databaseFingerprint(uvis.running.deps.db);
    const res = await send(row);
    expect(res.status, res.text).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.details.field).toMatch(new RegExp(`^(${DB_FIELDS[code]})$`));
    expect(res.text).not.toMatch(/_key\b|_fkey\b|_check\b|constraint|sqlstate|\b23\d{3}\b|users|vehicles|drivers/i);
    expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
  });
});

describe('security battery: address search in NFC (issue 14)', () => {
  const marker = () => `가${randomBytes(3).toString('hex')}`;

  it('a decomposed-jamo (NFD) search finds an address stored in NFC', async () => {
    const district = `${marker()}구남강동`;
    const order = await createOrder(uvis.api, t.dispatcher, { pickup_address: `서울시 ${district} 1`.normalize('NFC') });
    const query = district.normalize('NFD');
    expect(query).not.toBe(district);
    const res = await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent(query)}`, t.dispatcher);
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.map((o: { id: number }) => o.id)).toEqual([order.id]);
  });

  it('an address sent in NFD is stored in NFC, and an NFC search finds it', async () => {
    const district = `${marker()}해운대동`;
    const sent = `부산시 ${district} 55`.normalize('NFD');
    const order = await createOrder(uvis.api, t.dispatcher, { delivery_address: sent, notes: '문 앞에 두세요'.normalize('NFD') });
    const row = await uvis.running.deps.db('orders').where({ id: order.id }).first();
    expect(row.delivery_address).toBe(sent.normalize('NFC'));
    expect(row.notes).toBe('문 앞에 두세요');
    const res = await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent(district.normalize('NFC'))}`, t.dispatcher);
    expect(res.body.items.map((o: { id: number }) => o.id)).toEqual([order.id]);
  });

  it('an address with a right-to-left override is refused, so a search never meets one', async () => {
    const hidden = `${marker()}구남강`;
    const before = await databaseFingerprint(uvis.running.deps.db);
    const res = await uvis.api.post('/api/v1/orders', { ...ORDER, pickup_address: `서울시 ${RLO}${hidden}` }, t.dispatcher);
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.details).toEqual([{ field: 'body.pickup_address', message: expect.stringContaining('bidirectional') }]);
    expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
    expect((await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent(hidden)}`, t.dispatcher)).body.items).toEqual([]);
  });
});
