/**
 * Temperature readings: posted by a driver, queued, stored once, attached to the right dispatch;
 * each stored batch announces its dispatches' latest reading live; bad batches refused whole; retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { openStream } from '../helpers/sse.js';
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

const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A vehicle, a driver with a sign-in, and an active dispatch holding both. */
async function driverOnDispatch(orderFields: Record<string, unknown> = {}) {
  const vehicle = await createVehicle(uvis.api, admin);
  const driver = await createDriverAccount(uvis.api, admin);
  const order = await createOrder(uvis.api, admin, orderFields);
  const dispatch = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
  expect(dispatch.status, dispatch.text).toBe(201);
  return { vehicleId: vehicle.id, driver, dispatchId: dispatch.body.id as number };
}

const readingsOf = (vehicleId: number) =>
  uvis.running.deps.db('temperature_readings').where('vehicle_id', vehicleId).orderBy(['sensor', 'recorded_at']).select('*');

const waitForJob = (jobId: string) =>
  waitFor(async () => (await uvis.running.deps.queues.telemetry.getJobState(jobId)) === 'completed', { what: `telemetry job ${jobId}` });

const post = (token: string, body: unknown, headers?: Record<string, string>) => uvis.api.post('/api/v1/mobile/temperatures', body, token, headers);

describe('driver temperature posts', () => {
  it('stores a batch once, whether re-sent with the same Idempotency-Key or without one', async () => {
    const { vehicleId, driver } = await driverOnDispatch();
    const counted = async () => (await uvis.running.deps.metrics.temperatureReadingsStored.get()).values[0]?.value ?? 0;
    const countedBefore = await counted();
    const start = Date.now() - 60 * MINUTE;
    const readings = Array.from({ length: 50 }, (_, i) => ({ recorded_at: iso(start + i * MINUTE), temperature_c: 3 + (i % 5) / 10, door_open: i === 7 }));
    const headers = { 'Idempotency-Key': `temp-${vehicleId}` };
    const first = await post(driver.token, { readings }, headers);
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ queue: 'telemetry', accepted: 50, vehicle_id: vehicleId });
    const again = await post(driver.token, { readings }, headers);
    expect(again.status).toBe(202);
    expect(again.body.job_id).toBe(first.body.job_id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    await waitForJob(first.body.job_id);
    const rows = await readingsOf(vehicleId);
    expect(rows).toHaveLength(50);
    expect(rows[0]).toMatchObject({ sensor: 'main', source: 'driver', temperature_c: 3 });
    expect(rows[7].door_open).toBe(true);

    // Without a key: a new job, yet (vehicle, sensor, recorded_at) stores nothing twice.
    const noKey = await post(driver.token, { readings });
    expect(noKey.body.job_id).not.toBe(first.body.job_id);
    await waitForJob(noKey.body.job_id);
    expect(await readingsOf(vehicleId)).toHaveLength(50);
    // uvis_temperature_readings_total counts stored rows, not posted ones.
    expect((await counted()) - countedBefore).toBe(50);
    // The same key with a different body is refused.
    expect((await post(driver.token, { readings: readings.slice(1) }, headers)).status).toBe(422);
  });

  it('stores the same rows from shuffled and swapped batches as from one sorted batch', async () => {
    const a = await driverOnDispatch();
    const b = await driverOnDispatch();
    const start = Date.now() - 120 * MINUTE;
    const readings = Array.from({ length: 80 }, (_, i) => ({
      recorded_at: iso(start + i * MINUTE),
      temperature_c: -18 + Math.sin(i) * 2,
      sensor: i % 2 ? 'return-air' : 'main',
    }));
    const sorted = await post(a.driver.token, { readings });
    // The second half first, each half shuffled: an offline buffer uploaded late.
    const shuffle = <T>(xs: T[]) =>
      xs
        .map((x) => [Math.random(), x] as const)
        .sort((p, q) => p[0] - q[0])
        .map(([, x]) => x);
    const late = await post(b.driver.token, { readings: shuffle(readings.slice(40)) });
    const early = await post(b.driver.token, { readings: shuffle(readings.slice(0, 40)) });
    for (const res of [sorted, late, early]) await waitForJob(res.body.job_id);
    const shape = (rows: Record<string, unknown>[]) => rows.map((r) => [r.sensor, (r.recorded_at as Date).toISOString(), r.temperature_c]);
    const rowsA = await readingsOf(a.vehicleId);
    expect(rowsA).toHaveLength(80);
    expect(shape(await readingsOf(b.vehicleId))).toEqual(shape(rowsA));
  });

  it('attaches each reading to the dispatch active on its vehicle at recorded_at', async () => {
    const { vehicleId, driver, dispatchId } = await driverOnDispatch();
    const { db } = uvis.running.deps;
    // The dispatch began two hours ago (set directly: the API stamps creation with now()).
    await db('dispatches')
      .where({ id: dispatchId })
      .update({ created_at: db.raw(`now() - interval '2 hours'`) });
    const now = Date.now();
    const during = [{ recorded_at: iso(now - 60 * MINUTE), temperature_c: 4 }];
    const before = [{ recorded_at: iso(now - 180 * MINUTE), temperature_c: 12 }];
    const res = await post(driver.token, { readings: [...during, ...before] });
    await waitForJob(res.body.job_id);
    const done = await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatchId}/status`, { json: { status: 'COMPLETED' }, token: driver.token });
    expect(done.status, done.text).toBe(200);

    // After completion the driver has no active dispatch: refused, with a clear code.
    const after = [{ recorded_at: iso(Date.now() + 2 * MINUTE), temperature_c: 15 }];
    const refused = await post(driver.token, { readings: after });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('no_active_dispatch');
    // A gateway on the same vehicle still records (the vehicle's idle time): not attached.
    const key = await uvis.api.post('/api/v1/admin/api-keys', { name: 'reefer', vehicle_id: vehicleId }, admin);
    const gateway = await uvis.api.post('/api/v1/telemetry/temperatures', { readings: after }, undefined, { 'X-Api-Key': key.body.key });
    expect(gateway.status, gateway.text).toBe(202);
    await waitForJob(gateway.body.job_id);

    const rows = await readingsOf(vehicleId);
    const byTemp = Object.fromEntries(rows.map((r) => [r.temperature_c, r.dispatch_id]));
    expect(byTemp).toEqual({ 12: null, 4: dispatchId, 15: null });
  });

  it('refuses a driver without an active dispatch', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const res = await post(driver.token, { readings: [{ recorded_at: iso(Date.now()), temperature_c: 2 }] });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('no_active_dispatch');
  });

  it('refuses a batch with one bad reading as a 400 naming the field, and queues and stores nothing', async () => {
    const { vehicleId, driver } = await driverOnDispatch();
    const good = (i: number) => ({ recorded_at: iso(Date.now() - (10 - i) * MINUTE), temperature_c: 5 });
    const withBad = (bad: Record<string, unknown>) => ({ readings: [good(0), good(1), good(2), { ...good(3), ...bad }, good(4)] });
    const cases: [string, unknown, string][] = [
      ['non-numeric', withBad({ temperature_c: 'cold' }), 'body.readings.3.temperature_c'],
      ['numeric string', withBad({ temperature_c: '5' }), 'body.readings.3.temperature_c'],
      ['missing temperature', withBad({ temperature_c: undefined }), 'body.readings.3.temperature_c'],
      ['above +60', withBad({ temperature_c: 60.5 }), 'body.readings.3.temperature_c'],
      ['below -60', withBad({ temperature_c: -61 }), 'body.readings.3.temperature_c'],
      ['future beyond the skew', withBad({ recorded_at: iso(Date.now() + 10 * MINUTE) }), 'body.readings.3.recorded_at'],
      ['older than 30 days', withBad({ recorded_at: iso(Date.now() - 31 * 86_400_000) }), 'body.readings.3.recorded_at'],
      ['missing recorded_at', withBad({ recorded_at: undefined }), 'body.readings.3.recorded_at'],
      ['bad setpoint', withBad({ setpoint_c: 99 }), 'body.readings.3.setpoint_c'],
      ['unknown field', withBad({ humidity: 40 }), 'body.readings.3'],
      ['too many', { readings: Array.from({ length: 501 }, () => good(0)) }, 'body.readings'],
      ['empty', { readings: [] }, 'body.readings'],
    ];
    for (const [name, body, field] of cases) {
      const res = await post(driver.token, body);
      expect(res.status, name).toBe(400);
      expect(
        res.body.error.details.map((d: { field: string }) => d.field),
        name,
      ).toContain(field);
    }
    const counts = await uvis.running.deps.queues.telemetry.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    const ownJobs = (await uvis.running.deps.queues.telemetry.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).filter(
      (j) => j.data.vehicleId === vehicleId,
    );
    expect(ownJobs, JSON.stringify(counts)).toEqual([]);
    expect(await readingsOf(vehicleId)).toEqual([]);
    // A reading at the limit (0 °C, -60, +60, 4 minutes ahead) is accepted.
    const edge = await post(driver.token, {
      readings: [
        { recorded_at: iso(Date.now() - 3 * MINUTE), temperature_c: 0 },
        { recorded_at: iso(Date.now() - 2 * MINUTE), temperature_c: -60 },
        { recorded_at: iso(Date.now() - MINUTE), temperature_c: 60 },
        { recorded_at: iso(Date.now() + 4 * MINUTE), temperature_c: 1, setpoint_c: 0 },
      ],
    });
    expect(edge.status, edge.text).toBe(202);
    await waitForJob(edge.body.job_id);
    expect((await readingsOf(vehicleId)).map((r) => r.temperature_c)).toEqual([0, -60, 60, 1]);
  });
});

describe('live latest temperature', () => {
  it("sends staff streams each dispatch's latest reading once per stored batch, against the order's limits", async () => {
    // Own limits 0 to 4 °C: a 0 °C limit is a limit, and a reading on it is in range.
    const { vehicleId, driver, dispatchId } = await driverOnDispatch({ temp_min_c: 0, temp_max_c: 4 });
    const { db } = uvis.running.deps;
    await db('dispatches')
      .where({ id: dispatchId })
      .update({ created_at: db.raw(`now() - interval '1 hour'`) });
    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const stream = await openStream(`${uvis.baseUrl}/api/v1/dashboard/events`, dispatcher);
    // The stream's visibility rule applies to this event as to every other: staff only.
    const refused = await openStream(`${uvis.baseUrl}/api/v1/dashboard/events`, driver.token);
    expect(refused.res.status).toBe(403);
    try {
      await stream.next('hello');
      const mine = () => stream.events.filter((e) => e.event === 'temperature' && e.data.dispatch_id === dispatchId).map((e) => e.data);
      const now = Date.now();

      // Three readings in one post (one batch, not in time order): one event, the newest reading.
      const first = await post(driver.token, {
        readings: [
          { recorded_at: iso(now - 3 * MINUTE), temperature_c: 2 },
          { recorded_at: iso(now - 1 * MINUTE), temperature_c: -0.5, door_open: true },
          { recorded_at: iso(now - 2 * MINUTE), temperature_c: 3, sensor: 'rear' },
        ],
      });
      expect(first.status, first.text).toBe(202);
      const latest = {
        type: 'temperature',
        dispatch_id: dispatchId,
        vehicle_id: vehicleId,
        sensor: 'main',
        recorded_at: iso(now - 1 * MINUTE),
        temperature_c: -0.5,
        door_open: true,
        in_range: false,
        at: expect.any(String),
      };
      expect((await stream.next('temperature', (d) => d.dispatch_id === dispatchId)).data).toEqual(latest);
      await waitForJob(first.body.job_id);

      // A late offline buffer: the event still names the dispatch's newest reading, not the batch's.
      const late = await post(driver.token, { readings: [{ recorded_at: iso(now - 30 * MINUTE), temperature_c: 9 }] });
      await waitForJob(late.body.job_id);
      await waitFor(async () => mine().length >= 2, { what: 'the second temperature event' });
      // Redis delivers in publish order: the first batch sent exactly one event.
      expect(mine()).toEqual([latest, latest]);

      const onLimit = await post(driver.token, { readings: [{ recorded_at: iso(now), temperature_c: 0, door_open: false }] });
      await waitForJob(onLimit.body.job_id);
      await waitFor(async () => mine().length >= 3, { what: 'the third temperature event' });
      expect(mine()[2]).toEqual({ ...latest, recorded_at: iso(now), temperature_c: 0, door_open: false, in_range: true });
      // Once per batch, counted when it cannot race: Redis delivers in publish order, so with the
      // third batch's event here every event the first two batches published is here too.
      await waitFor(async () => mine().some((e) => e.recorded_at === iso(now)), { what: "the third batch's event" });
      expect(mine().filter((e) => e.recorded_at !== iso(now))).toHaveLength(2);
    } finally {
      await stream.close();
      await refused.close();
    }
  });
});

describe("reading a dispatch's temperatures", () => {
  it('gives staff and the own driver the readings in time order, paged; another driver a 404', async () => {
    const { driver, dispatchId } = await driverOnDispatch();
    const { db } = uvis.running.deps;
    // The dispatch began an hour ago, so these readings fall inside it.
    await db('dispatches')
      .where({ id: dispatchId })
      .update({ created_at: db.raw(`now() - interval '1 hour'`) });
    const start = Date.now() - 30 * MINUTE;
    const readings = Array.from({ length: 25 }, (_, i) => ({ recorded_at: iso(start + i * MINUTE), temperature_c: i / 10 }));
    const res = await post(driver.token, { readings: [...readings].reverse() });
    await waitForJob(res.body.job_id);

    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const first = await uvis.api.get(`/api/v1/dispatches/${dispatchId}/temperatures?limit=10`, dispatcher);
    expect(first.status, first.text).toBe(200);
    expect(first.body.items).toHaveLength(10);
    const rest = [];
    let cursor = first.body.next_cursor;
    while (cursor) {
      const next = await uvis.api.get(`/api/v1/dispatches/${dispatchId}/temperatures?limit=10&cursor=${cursor}`, dispatcher);
      rest.push(...next.body.items);
      cursor = next.body.next_cursor;
    }
    const all = [...first.body.items, ...rest];
    expect(all.map((r: { temperature_c: number }) => r.temperature_c)).toEqual(readings.map((r) => r.temperature_c));
    expect(all.every((r: { dispatch_id: number }) => r.dispatch_id === dispatchId)).toBe(true);

    const own = await uvis.api.get(`/api/v1/dispatches/${dispatchId}/temperatures`, driver.token);
    expect(own.status).toBe(200);
    expect(own.body.items).toHaveLength(25);
    const other = await driverOnDispatch();
    const refused = await uvis.api.get(`/api/v1/dispatches/${dispatchId}/temperatures`, other.driver.token);
    expect(refused.status).toBe(404);
    expect(refused.text).not.toContain('temperature_c');
    expect((await uvis.api.get(`/api/v1/dispatches/999999/temperatures`, dispatcher)).status).toBe(404);
  });
});

describe('temperature retention', () => {
  it('deletes readings older than TELEMETRY_RETENTION_DAYS (730), and nothing newer', async () => {
    const { db, queues } = uvis.running.deps;
    const vehicle = await createVehicle(uvis.api, admin);
    await db.raw(
      `insert into temperature_readings (vehicle_id, sensor, recorded_at, temperature_c, source)
         select ?, 'main', now() - (d * interval '1 day'), 4, 'gateway' from unnest(array[1, 100, 729, 731, 800]) d`,
      [vehicle.id],
    );
    const job = await queues.maintenance.add('maintenance.cleanup', {});
    await waitFor(async () => (await queues.maintenance.getJobState(job.id!)) === 'completed', { what: 'cleanup' });
    const left = await db('temperature_readings')
      .where('vehicle_id', vehicle.id)
      .select(db.raw(`round(extract(epoch from now() - recorded_at) / 86400) as days`));
    expect(left.map((r) => Number(r.days)).sort((x, y) => x - y)).toEqual([1, 100, 729]);
    // Past months have no partition in a fresh database: the default partition holds them and is trimmed row by row.
    expect((await queues.maintenance.getJob(job.id!))!.returnvalue.temperatures.rowsDeleted).toBeGreaterThanOrEqual(2);
  });
});

describe('order temperature fields', () => {
  it('accepts a profile and own limits (0 °C is a limit), refuses crossing limits, and leaves orders without them unchanged', async () => {
    const plain = await createOrder(uvis.api, admin);
    expect(plain).toMatchObject({ temperature_profile: null, temp_min_c: null, temp_max_c: null });

    const own = await createOrder(uvis.api, admin, { temperature_profile: 'PHARMA_2_8', temp_min_c: 0, temp_max_c: 0 });
    expect(own).toMatchObject({ temperature_profile: 'PHARMA_2_8', temp_min_c: 0, temp_max_c: 0 });
    const crossing = await uvis.api.post(
      '/api/v1/orders',
      { client_id: 1, pickup_address: '서울시 강남구 1', delivery_address: '부산시 해운대구 1', cargo_type: '냉동', weight: 10, temp_min_c: 0, temp_max_c: -1 },
      admin,
    );
    expect(crossing.status).toBe(400);
    expect(crossing.body.error.details[0].field).toBe('body.temp_min_c');
    const badProfile = await uvis.api.request('PATCH', `/api/v1/orders/${plain.id}`, { json: { temperature_profile: 'WARM' }, token: admin });
    expect(badProfile.status).toBe(400);

    // PATCH against the stored limits: raising the minimum above the stored 0 °C maximum is refused.
    const up = await uvis.api.request('PATCH', `/api/v1/orders/${own.id}`, { json: { temp_min_c: 2 }, token: admin });
    expect(up.status).toBe(400);
    const cleared = await uvis.api.request('PATCH', `/api/v1/orders/${own.id}`, { json: { temp_max_c: null, temp_min_c: -2 }, token: admin });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body).toMatchObject({ temperature_profile: 'PHARMA_2_8', temp_min_c: -2, temp_max_c: null });
    const got = await uvis.api.get(`/api/v1/orders/${own.id}`, admin);
    expect(got.body).toMatchObject({ temp_min_c: -2, temp_max_c: null });
  });
});
