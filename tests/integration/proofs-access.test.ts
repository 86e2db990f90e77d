/**
 * Who may add and see proofs of delivery (issue 17), and the delivery gate: drivers (own and
 * another's dispatch), dispatchers, admins, shipper keys of the order's client and of another
 * client, a vehicle gateway's key and anonymous callers; `proof_required` with its client default,
 * DELIVERED and every skip past it (the seed's ASSIGNED → COMPLETED) refused with 409 PROOF_REQUIRED
 * until the proofs exist, and orders without the requirement unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER } from '../helpers/api-client.js';
import { createDriverAccount, createVehicle } from '../helpers/fixtures.js';
import { dispatchWithDriver, sha256, signaturePng, uploadProof } from '../helpers/proofs.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;
let uploads: string;

const withKey = (key: string, path: string) => uvis.api.request('GET', path, { headers: { 'x-api-key': key } });
const setStatus = (token: string, dispatchId: number, status: string) =>
  uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatchId}/status`, { token, json: { status } });

async function createClient(body: Record<string, unknown>): Promise<number> {
  const res = await uvis.api.post('/api/v1/clients', body, admin);
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function apiKey(body: Record<string, unknown>): Promise<string> {
  const res = await uvis.api.post('/api/v1/admin/api-keys', body, admin);
  expect(res.status, res.text).toBe(201);
  return res.body.key;
}

beforeAll(async () => {
  uploads = mkdtempSync(join(tmpdir(), 'uvis-proof-access-'));
  uvis = await startTestUvis({ role: 'api', env: { UPLOADS_DIR: uploads } });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
  rmSync(uploads, { recursive: true, force: true });
});

describe('authorization', () => {
  it('the driver adds; staff, the driver and the order’s shipper key read; everyone else gets 404 (or 401/403 before that)', async () => {
    const ownClient = await createClient({ name: '한빛식품' });
    const otherClient = await createClient({ name: '푸른제약' });
    const ownKey = await apiKey({ name: '한빛 연동', role: 'shipper', client_id: ownClient });
    const otherKey = await apiKey({ name: '푸른 연동', role: 'shipper', client_id: otherClient });
    const gatewayKey = await apiKey({ name: '게이트웨이', vehicle_id: (await createVehicle(uvis.api, admin)).id });
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin, { client_id: ownClient });
    const otherDriver = await createDriverAccount(uvis.api, admin);
    const png = await signaturePng();

    // Adding: only the dispatch's own driver.
    const upload = (token: string | undefined, headers: Record<string, string> = {}) =>
      uploadProof(uvis.api, token, dispatchId, { kind: 'signature' }, png, { type: 'image/png', headers });
    expect((await upload(undefined)).status).toBe(401);
    expect((await upload(otherDriver.token)).status).toBe(404);
    // The demo admin is linked to driver 1: a driver, but not this dispatch's.
    expect((await upload(admin)).status).toBe(404);
    expect((await upload(dispatcher)).status).toBe(403);
    // Shipper keys are refused on every route not opened to them (docs/api.md).
    expect((await upload(undefined, { 'x-api-key': ownKey })).status).toBe(403);
    const added = await upload(driver.token);
    expect(added.status, added.text).toBe(201);
    const proofId = added.body.id as number;
    expect(await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId })).toHaveLength(1);

    // Reading the list and the file.
    const list = `/api/v1/dispatches/${dispatchId}/proofs`;
    const file = `/api/v1/proofs/${proofId}/file`;
    for (const [who, read] of [
      ['the driver', (p: string) => uvis.api.get(p, driver.token)],
      ['a dispatcher', (p: string) => uvis.api.get(p, dispatcher)],
      ['an admin', (p: string) => uvis.api.get(p, admin)],
      ['the order’s shipper key', (p: string) => withKey(ownKey, p)],
    ] as const) {
      const l = await read(list);
      expect(l.status, who).toBe(200);
      expect(
        l.body.items.map((p: { id: number }) => p.id),
        who,
      ).toEqual([proofId]);
      const f = await fetch(`${uvis.baseUrl}${file}`, {
        headers:
          who === 'the order’s shipper key'
            ? { 'x-api-key': ownKey }
            : { authorization: `Bearer ${who === 'the driver' ? driver.token : who === 'a dispatcher' ? dispatcher : admin}` },
      });
      expect(f.status, who).toBe(200);
      expect(sha256(new Uint8Array(await f.arrayBuffer())), who).toBe(added.body.sha256);
    }
    // Refused exactly like something that does not exist.
    const missingList = await uvis.api.get('/api/v1/dispatches/999999/proofs', admin);
    const missingFile = await uvis.api.get('/api/v1/proofs/999999/file', admin);
    for (const [who, read] of [
      ['another driver', (p: string) => uvis.api.get(p, otherDriver.token)],
      ['another client’s shipper key', (p: string) => withKey(otherKey, p)],
    ] as const) {
      const l = await read(list);
      expect(l.status, who).toBe(404);
      expect(l.body.error, who).toEqual(missingList.body.error);
      const f = await read(file);
      expect(f.status, who).toBe(404);
      expect(f.body.error, who).toEqual(missingFile.body.error);
    }
    expect((await uvis.api.get(list)).status).toBe(401);
    expect((await uvis.api.get(file)).status).toBe(401);
    expect((await withKey(gatewayKey, list)).status).toBe(403);
    expect((await withKey(gatewayKey, file)).status).toBe(403);
    expect((await withKey('uvk_not-a-key', file)).status).toBe(401);
  });
});

describe('proof_required and the delivery gate', () => {
  it('takes the client’s default unless the order names its own; accepts a list or photo/signature/both', async () => {
    const strict = await createClient({ name: '서명필수상사', default_proof_required: 'signature' });
    const client = await uvis.api.get(`/api/v1/clients/${strict}`, admin);
    expect(client.body.default_proof_required).toEqual(['signature']);
    const order = (overrides: Record<string, unknown>) =>
      uvis.api.post(
        '/api/v1/orders',
        {
          client_id: strict,
          pickup_address: '서울시 중구 세종대로 110',
          delivery_address: '부산시 중구 중앙대로 1',
          cargo_type: '냉장',
          weight: 10,
          ...overrides,
        },
        admin,
      );
    expect((await order({})).body.proof_required).toEqual(['signature']);
    expect((await order({ proof_required: [] })).body.proof_required).toEqual([]);
    expect((await order({ proof_required: null })).body.proof_required).toEqual([]);
    const both = await order({ proof_required: 'both' });
    expect(both.body.proof_required, both.text).toEqual(['photo', 'signature']);
    expect((await order({ proof_required: ['signature', 'photo', 'photo'] })).body.proof_required).toEqual(['photo', 'signature']);
    const bad = await order({ proof_required: ['selfie'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toMatch(/^body\.proof_required/);
    // Client 1 (the demo's) requires nothing: the seed's orders behave as before.
    expect((await uvis.api.get('/api/v1/clients/1', admin)).body.default_proof_required).toEqual([]);
    const plain = await order({ client_id: 1 });
    expect(plain.body.proof_required).toEqual([]);
    // A PENDING order's requirement can be changed.
    const patched = await uvis.api.request('PATCH', `/api/v1/orders/${plain.body.id}`, { token: admin, json: { proof_required: 'photo' } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.proof_required).toEqual(['photo']);
  });

  it('refuses DELIVERED and every skip past it (the seed’s ASSIGNED → COMPLETED) until the required proofs exist', async () => {
    const { dispatchId, driver, orderId } = await dispatchWithDriver(uvis.api, admin, { proof_required: ['photo', 'signature'] });
    for (const to of ['COMPLETED', 'DELIVERED']) {
      const refused = await setStatus(driver.token, dispatchId, to);
      expect(refused.status, to).toBe(409);
      expect(refused.body.error, to).toMatchObject({ code: 'PROOF_REQUIRED', details: { required: ['photo', 'signature'], missing: ['photo', 'signature'] } });
    }
    // Nothing moved: the dispatch and its order are where they were.
    expect((await uvis.api.get(`/api/v1/dispatches/${dispatchId}`, admin)).body.status).toBe('ASSIGNED');
    expect((await uvis.api.get(`/api/v1/orders/${orderId}`, admin)).body.status).toBe('ASSIGNED');
    // Earlier steps are not gated.
    expect((await setStatus(driver.token, dispatchId, 'IN_TRANSIT')).status).toBe(200);

    const photo = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, await signaturePng(), { type: 'image/png' });
    expect(photo.status, photo.text).toBe(201);
    const stillMissing = await setStatus(driver.token, dispatchId, 'COMPLETED');
    expect(stillMissing.status).toBe(409);
    expect(stillMissing.body.error.details.missing).toEqual(['signature']);
    const listed = await uvis.api.get(`/api/v1/dispatches/${dispatchId}/proofs`, admin);
    expect(listed.body).toMatchObject({ required: ['photo', 'signature'], missing: ['signature'] });

    const signature = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature', recipient_name: '김수령' }, await signaturePng(), {
      type: 'image/png',
    });
    expect(signature.status, signature.text).toBe(201);
    expect((await uvis.api.get(`/api/v1/dispatches/${dispatchId}/proofs`, admin)).body.missing).toEqual([]);
    const delivered = await setStatus(driver.token, dispatchId, 'DELIVERED');
    expect(delivered.status, delivered.text).toBe(200);
    expect(delivered.body).toMatchObject({ status: 'DELIVERED', order_status: 'COMPLETED' });
    expect((await setStatus(driver.token, dispatchId, 'COMPLETED')).status).toBe(200);
  });

  it('the skip straight to COMPLETED passes once the proofs exist, and an order without the requirement moves as before', async () => {
    const gated = await dispatchWithDriver(uvis.api, admin, { proof_required: 'signature' });
    expect((await setStatus(gated.driver.token, gated.dispatchId, 'COMPLETED')).status).toBe(409);
    expect((await uploadProof(uvis.api, gated.driver.token, gated.dispatchId, { kind: 'signature' }, await signaturePng(), { type: 'image/png' })).status).toBe(
      201,
    );
    const completed = await setStatus(gated.driver.token, gated.dispatchId, 'COMPLETED');
    expect(completed.status, completed.text).toBe(200);
    expect(completed.body.order_status).toBe('COMPLETED');

    const plain = await dispatchWithDriver(uvis.api, admin);
    expect(plain.order.proof_required).toEqual([]);
    const straight = await setStatus(plain.driver.token, plain.dispatchId, 'COMPLETED');
    expect(straight.status, straight.text).toBe(200);
    expect((await uvis.api.get(`/api/v1/dispatches/${plain.dispatchId}/proofs`, plain.driver.token)).body).toMatchObject({
      required: [],
      missing: [],
      items: [],
    });
  });
});
