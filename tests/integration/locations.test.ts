/** GPS posts land in PostgreSQL exactly once: single, batch, and repeated with one Idempotency-Key. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { createDriverAccount } from '../helpers/fixtures.js';
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

const storedFor = async (driverId: number) => uvis.running.deps.db('vehicle_locations').where('driver_id', driverId).orderBy('recorded_at').select('*');

const waitForJob = (jobId: string) =>
  waitFor(async () => (await uvis.running.deps.queues.locations.getJobState(jobId)) === 'completed', { what: `job ${jobId}` });

describe('location posts', () => {
  it('stores a single post once, with the vehicle the driver drives, and keeps the latest position', async () => {
    const driver = await createDriverAccount(uvis.api, admin, { vehicle_id: 2 });
    const res = await uvis.api.post('/api/v1/mobile/location', { latitude: 37.5665, longitude: 126.978, speed: 42.5, heading: 90 }, driver.token);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ queue: 'locations', accepted: 1 });
    await waitForJob(res.body.job_id);
    const rows = await storedFor(driver.driverId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ latitude: 37.5665, longitude: 126.978, speed_kmh: 42.5, heading_deg: 90, vehicle_id: 2 });
    const position = await uvis.running.deps.db('driver_positions').where('driver_id', driver.driverId).first();
    expect(position).toMatchObject({ latitude: 37.5665, longitude: 126.978, vehicle_id: 2 });
  });

  it('stores a batch (an offline buffer) once, readable back in time order by a dispatcher', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const start = Date.now() - 60 * 60_000;
    const points = Array.from({ length: 120 }, (_, i) => ({
      latitude: 37 + i / 1000,
      longitude: 127 + i / 1000,
      recorded_at: new Date(start + i * 10_000).toISOString(),
    }));
    const res = await uvis.api.post('/api/v1/mobile/locations', { points: [...points].reverse() }, driver.token);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(120);
    await waitForJob(res.body.job_id);
    expect(await storedFor(driver.driverId)).toHaveLength(120);

    // Uploading the same buffer again (no key, same recorded times) stores nothing new.
    const again = await uvis.api.post('/api/v1/mobile/locations', { points }, driver.token);
    await waitForJob(again.body.job_id);
    expect(await storedFor(driver.driverId)).toHaveLength(120);

    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const from = new Date(start - 1000).toISOString();
    const to = new Date().toISOString();
    const first = await uvis.api.get(`/api/v1/drivers/${driver.driverId}/locations?from=${from}&to=${to}&limit=100`, dispatcher);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(100);
    const times = first.body.items.map((p: { recorded_at: string }) => p.recorded_at);
    expect(times).toEqual([...times].sort());
    const second = await uvis.api.get(
      `/api/v1/drivers/${driver.driverId}/locations?from=${from}&to=${to}&limit=100&cursor=${first.body.next_cursor}`,
      dispatcher,
    );
    expect(second.body.items).toHaveLength(20);
    expect(second.body.next_cursor).toBeNull();
    expect(second.body.items[0].recorded_at > times[99]).toBe(true);
    // The latest position is the newest point, whatever order the batch came in.
    const position = await uvis.running.deps.db('driver_positions').where('driver_id', driver.driverId).first();
    expect(position.latitude).toBeCloseTo(37.119);
  });

  it('a post repeated with the same Idempotency-Key answers the same job and stores once', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const headers = { 'Idempotency-Key': 'phone-42-point-7' };
    const first = await uvis.api.post('/api/v1/mobile/location', { latitude: 35.1, longitude: 129.1 }, driver.token, headers);
    await waitForJob(first.body.job_id);
    const second = await uvis.api.post('/api/v1/mobile/location', { latitude: 35.1, longitude: 129.1 }, driver.token, headers);
    expect(second.status).toBe(202);
    expect(second.body.job_id).toBe(first.body.job_id);
    const batchHeaders = { 'Idempotency-Key': 'phone-42-buffer-1' };
    const points = [
      { latitude: 35.2, longitude: 129.2 },
      { latitude: 35.3, longitude: 129.3 },
    ];
    const b1 = await uvis.api.post('/api/v1/mobile/locations', { points }, driver.token, batchHeaders);
    const b2 = await uvis.api.post('/api/v1/mobile/locations', { points }, driver.token, batchHeaders);
    expect(b2.body.job_id).toBe(b1.body.job_id);
    await waitForJob(b1.body.job_id);
    // Even if the job ran again (completed jobs get trimmed), the point keys derived from the job id dedupe it.
    const job = await uvis.running.deps.queues.locations.getJob(b1.body.job_id);
    await job!.remove();
    const b3 = await uvis.api.post('/api/v1/mobile/locations', { points }, driver.token, batchHeaders);
    await waitForJob(b3.body.job_id);
    expect(await storedFor(driver.driverId)).toHaveLength(3);
  });

  it('the same point id is stored once across posts', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const a = await uvis.api.post('/api/v1/mobile/location', { latitude: 36, longitude: 127, point_id: 'p-1' }, driver.token);
    const b = await uvis.api.post('/api/v1/mobile/location', { latitude: 36, longitude: 127, point_id: 'p-1' }, driver.token);
    await Promise.all([waitForJob(a.body.job_id), waitForJob(b.body.job_id)]);
    expect(await storedFor(driver.driverId)).toHaveLength(1);
  });
});
