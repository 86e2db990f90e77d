/** Vehicle gateway API keys: admins create (shown once, stored hashed), list and revoke; a key posts only for its vehicle. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { createDriverAccount, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
});

const reading = (minutesAgo: number, temperature_c = 4) => ({ recorded_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(), temperature_c });
const gatewayPost = (key: string | undefined, body: unknown) =>
  uvis.api.post('/api/v1/telemetry/temperatures', body, undefined, key === undefined ? {} : { 'X-Api-Key': key });
const createKey = (vehicleId: number, token = admin) => uvis.api.post('/api/v1/admin/api-keys', { name: `gateway ${vehicleId}`, vehicle_id: vehicleId }, token);
const waitForJob = (jobId: string) =>
  waitFor(async () => (await uvis.running.deps.queues.telemetry.getJobState(jobId)) === 'completed', { what: `telemetry job ${jobId}` });

describe('API keys', () => {
  it('shows the secret once and stores only its hash', async () => {
    const vehicle = await createVehicle(uvis.api, admin);
    const created = await createKey(vehicle.id);
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const { key, id, prefix } = created.body;
    expect(key).toMatch(/^uvk_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ role: 'telematics', vehicle_id: vehicle.id, revoked_at: null });
    expect(key.startsWith(prefix)).toBe(true);
    expect(prefix.length).toBeLessThan(key.length / 3);

    const row = await uvis.running.deps.db('api_keys').where({ id }).first();
    expect(row.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    // No column holds the secret, nor anything past the display prefix.
    expect(JSON.stringify(row)).not.toContain(key.slice(prefix.length));

    const list = await uvis.api.get('/api/v1/admin/api-keys', admin);
    expect(list.status).toBe(200);
    const listed = list.body.items.find((k: { id: number }) => k.id === id);
    expect(listed).toMatchObject({ id, prefix, vehicle_id: vehicle.id });
    expect(list.text).not.toContain(key.slice(prefix.length));
    expect(listed).not.toHaveProperty('key');
    expect(listed).not.toHaveProperty('key_hash');
  });

  it('is for admins only, and refuses an unknown vehicle', async () => {
    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    expect((await createKey(1, dispatcher)).status).toBe(403);
    expect((await uvis.api.get('/api/v1/admin/api-keys', dispatcher)).status).toBe(403);
    expect((await uvis.api.request('DELETE', '/api/v1/admin/api-keys/1', { token: dispatcher })).status).toBe(403);
    const unknown = await createKey(987654);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0].field).toBe('body.vehicle_id');
  });

  it('lets a gateway post only for the vehicle its key is bound to', async () => {
    const mine = await createVehicle(uvis.api, admin);
    const other = await createVehicle(uvis.api, admin);
    const { key } = (await createKey(mine.id)).body;
    const res = await gatewayPost(key, { readings: [reading(3, 2.5), reading(2, 0)] });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ queue: 'telemetry', accepted: 2, vehicle_id: mine.id });
    await waitForJob(res.body.job_id);
    const rows = await uvis.running.deps.db('temperature_readings').where('vehicle_id', mine.id).orderBy('recorded_at');
    expect(rows.map((r) => [r.temperature_c, r.source, r.dispatch_id])).toEqual([
      [2.5, 'gateway', null],
      [0, 'gateway', null],
    ]);
    // The body cannot name another vehicle: the key decides.
    const sneaky = await gatewayPost(key, { vehicle_id: other.id, readings: [reading(1)] });
    expect(sneaky.status).toBe(400);
    expect(await uvis.running.deps.db('temperature_readings').where('vehicle_id', other.id)).toEqual([]);
    // A driver's bearer token is not a gateway key.
    const driver = await createDriverAccount(uvis.api, admin);
    const bearer = await uvis.api.post('/api/v1/telemetry/temperatures', { readings: [reading(1)] }, driver.token);
    expect(bearer.status).toBe(401);
    // And a gateway key is not a bearer token.
    const asBearer = await uvis.api.post('/api/v1/mobile/temperatures', { readings: [reading(1)] }, key);
    expect(asBearer.status).toBe(401);
  });

  it('refuses a missing, unknown or revoked key with 401, at once after revocation', async () => {
    const vehicle = await createVehicle(uvis.api, admin);
    const { key, id } = (await createKey(vehicle.id)).body;
    expect((await gatewayPost(key, { readings: [reading(5)] })).status).toBe(202);
    expect((await gatewayPost(undefined, { readings: [reading(5)] })).status).toBe(401);
    const unknown = await gatewayPost(`uvk_${'A'.repeat(43)}`, { readings: [reading(5)] });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('invalid_api_key');
    expect((await gatewayPost('not-a-key', { readings: [reading(5)] })).status).toBe(401);

    const revoked = await uvis.api.request('DELETE', `/api/v1/admin/api-keys/${id}`, { token: admin });
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.revoked_at).toBeTruthy();
    const refused = await gatewayPost(key, { readings: [reading(4)] });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('invalid_api_key');
    // Revoking again answers the same; an unknown id is a 404.
    const again = await uvis.api.request('DELETE', `/api/v1/admin/api-keys/${id}`, { token: admin });
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    expect((await uvis.api.request('DELETE', '/api/v1/admin/api-keys/987654', { token: admin })).status).toBe(404);
  });
});
