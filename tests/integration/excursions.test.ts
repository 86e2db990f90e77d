/**
 * Temperature excursions end to end (issue 15): readings posted over HTTP are evaluated after
 * the worker stores them, excursions are listed with their actions, corrective actions are
 * recorded, the completion gate (409 EXCURSION_UNRESOLVED) holds on every status-change path,
 * concurrent evaluations store one row per identity, the gauge counts open excursions, the
 * DATA_GAP sweep opens a gap, and excursion events are published live.
 * Small EXCURSION_* / TELEMETRY_GAP_S settings keep the timelines short; no waiting on the clock.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueSchedules } from '../../jobs/index.js';
import { liveChannel } from '../../lib/live-events.js';
import { changeDispatchStatus } from '../../use-cases/dispatches.js';
import { evaluateDispatchExcursions } from '../../use-cases/excursions.js';
import { transaction } from '../../use-cases/transaction.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { parseMetrics, total } from '../helpers/prom-text.js';
import { baseUrls } from '../helpers/databases.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const OPEN_AFTER_S = 60;
const CLOSE_AFTER_S = 30;
const GAP_S = 300;

let uvis: TestUvis;
let admin: string;
let dispatcher: string;

beforeAll(async () => {
  uvis = await startTestUvis({
    role: 'all',
    env: { EXCURSION_OPEN_AFTER_S: String(OPEN_AFTER_S), EXCURSION_CLOSE_AFTER_S: String(CLOSE_AFTER_S), TELEMETRY_GAP_S: String(GAP_S) },
  });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const iso = (ms: number) => new Date(ms).toISOString();
const db = () => uvis.running.deps.db;

/**
 * A driver on a PICKED_UP dispatch of a CHILLED (0..10 °C) order. The dispatch's creation is
 * moved two hours back, so readings from the last hour belong to it (a reading belongs to the
 * dispatch active on its vehicle at recorded_at).
 */
async function pickedUpDispatch(orderOverrides: Record<string, unknown> = {}) {
  const vehicle = await createVehicle(uvis.api, admin);
  const driver = await createDriverAccount(uvis.api, admin);
  const order = await createOrder(uvis.api, admin, orderOverrides);
  const created = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
  expect(created.status, created.text).toBe(201);
  const dispatchId = created.body.id as number;
  await db()('dispatches')
    .where({ id: dispatchId })
    .update({ created_at: new Date(Date.now() - 2 * 3600 * SECOND) });
  const picked = await setStatus(driver.token, dispatchId, 'PICKED_UP');
  expect(picked.status, picked.text).toBe(200);
  return { vehicleId: vehicle.id, driver, dispatchId };
}

const setStatus = (token: string, dispatchId: number, status: string) =>
  uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatchId}/status`, { json: { status }, token });

const postReadings = (token: string, readings: unknown[]) => uvis.api.post('/api/v1/mobile/temperatures', { readings }, token);

const waitForJob = (jobId: string) =>
  waitFor(async () => (await uvis.running.deps.queues.telemetry.getJobState(jobId)) === 'completed', { what: `telemetry job ${jobId}` });

/** Posts the readings in several batches, in the order given, and waits for each to be stored and evaluated. */
async function postBatches(token: string, batches: unknown[][]) {
  for (const batch of batches) {
    const res = await postReadings(token, batch);
    expect(res.status, res.text).toBe(202);
    await waitForJob(res.body.job_id);
  }
}

const excursionsOf = (dispatchId: number, token = dispatcher) => uvis.api.get(`/api/v1/dispatches/${dispatchId}/excursions`, token);

/** Every 10 s from `start`: `before` in range, `out` at `outC`, then `after` back in range (counts of readings). */
function timeline(start: number, parts: { c: number; n: number; door?: boolean }[]) {
  const readings: { recorded_at: string; temperature_c: number; door_open?: boolean }[] = [];
  let t = start;
  for (const part of parts) {
    for (let i = 0; i < part.n; i++) {
      readings.push({ recorded_at: iso(t), temperature_c: part.c, ...(part.door === undefined ? {} : { door_open: part.door }) });
      t += 10 * SECOND;
    }
  }
  return readings;
}

/** A deterministic shuffle (a small LCG), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const chunks = <T>(items: T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

describe('excursion evaluation over HTTP', () => {
  it('shuffled batches give the excursion the sorted timeline defines, and it is published live', async () => {
    const subscriber = new Redis(baseUrls().redisUrl);
    const events: Record<string, unknown>[] = [];
    await subscriber.subscribe(liveChannel(uvis.config.redisPrefix));
    subscriber.on('message', (_channel, message) => {
      const event = JSON.parse(message);
      if (event.type === 'excursion') events.push(event);
    });
    try {
      const { driver, dispatchId } = await pickedUpDispatch();
      const start = Date.now() - 30 * MINUTE;
      // 5 min at 4 °C, 3 min at 14 °C with the door open, 2 min back at 4 °C: one HIGH excursion, closed.
      const readings = timeline(start, [
        { c: 4, n: 30 },
        { c: 14, n: 18, door: true },
        { c: 4, n: 12, door: false },
      ]);
      await postBatches(driver.token, chunks(shuffled(readings, 15), 17));

      const list = await excursionsOf(dispatchId);
      expect(list.status, list.text).toBe(200);
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0]).toMatchObject({
        sensor: 'main',
        kind: 'HIGH',
        severity: 'WARNING',
        status: 'CLOSED',
        started_at: iso(start + 30 * 10 * SECOND),
        ended_at: iso(start + 48 * 10 * SECOND),
        duration_s: 180,
        peak_c: 14,
        peak_at: iso(start + 30 * 10 * SECOND),
        mean_c: 14,
        readings: 18,
        door_open_s: 180,
        mkt_c: null,
        actions: [],
      });
      await waitFor(async () => events.some((e) => e.dispatch_id === dispatchId && e.status === 'CLOSED' && e.kind === 'HIGH'), {
        what: 'a live excursion event',
      });

      // Partial batches saw partial timelines: those rows are kept, superseded; one row is current.
      const rows = () => db()('temperature_excursions').where({ dispatch_id: dispatchId }).orderBy('id');
      const stored = await rows();
      expect(stored.filter((r) => r.superseded_at === null)).toHaveLength(1);
      // Re-sending everything (at-least-once) re-evaluates and changes nothing.
      await postBatches(driver.token, chunks(readings, 60));
      expect(await rows()).toEqual(stored);
    } finally {
      subscriber.disconnect();
    }
  });

  it('a late reading that moves an excursion supersedes the old row instead of adding a second current one', async () => {
    const { driver, dispatchId } = await pickedUpDispatch();
    const start = Date.now() - 30 * MINUTE;
    // 4 °C, then 12 °C from reading 10 on for 3 min, back for 1 min. The reading at index 9 (also 12 °C) arrives late.
    const readings = timeline(start, [
      { c: 4, n: 9 },
      { c: 12, n: 19 },
      { c: 4, n: 6 },
    ]);
    const late = readings.splice(9, 1);
    // Posted without the late reading, its slot is a 20 s step: the excursion starts at index 10.
    await postBatches(driver.token, [readings]);
    const before = (await excursionsOf(dispatchId)).body.items;
    expect(before).toHaveLength(1);
    expect(before[0].started_at).toBe(iso(start + 10 * 10 * SECOND));
    await postBatches(driver.token, [late]);
    const after = (await excursionsOf(dispatchId)).body.items;
    expect(after).toHaveLength(1);
    expect(after[0].started_at).toBe(iso(start + 9 * 10 * SECOND));
    const rows = await db()('temperature_excursions').where({ dispatch_id: dispatchId }).orderBy('id');
    expect(rows).toHaveLength(2);
    expect(rows[0].superseded_at).not.toBeNull();
    expect(rows[1].superseded_at).toBeNull();
  });
});

describe('the completion gate and corrective actions', () => {
  it('refuses COMPLETED (409 EXCURSION_UNRESOLVED) on the mobile and the staff path until the closed excursion has an action', async () => {
    const { driver, dispatchId } = await pickedUpDispatch();
    const start = Date.now() - 20 * MINUTE;
    await postBatches(driver.token, [
      timeline(start, [
        { c: 4, n: 6 },
        { c: 13, n: 12 },
        { c: 4, n: 6 },
      ]),
    ]);
    const [excursion] = (await excursionsOf(dispatchId)).body.items;
    expect(excursion).toMatchObject({ kind: 'HIGH', status: 'CLOSED', actions: [] });

    // The seed's mobile status endpoint.
    const refused = await setStatus(driver.token, dispatchId, 'COMPLETED');
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.code).toBe('EXCURSION_UNRESOLVED');
    expect(refused.body.error.details.excursions).toEqual([expect.objectContaining({ id: excursion.id, kind: 'HIGH', status: 'CLOSED', actions: 0 })]);
    // The staff path: the same single status-change sequence.
    const staff = transaction(uvis.running.deps, (tx) =>
      changeDispatchStatus(tx, uvis.running.deps, { dispatchId, to: 'COMPLETED', actor: { kind: 'staff', userId: 1 }, same: 'conflict' }),
    );
    await expect(staff).rejects.toMatchObject({ status: 409, code: 'EXCURSION_UNRESOLVED' });
    expect((await db()('dispatches').where({ id: dispatchId }).first()).status).toBe('PICKED_UP');

    // Bad actions and callers.
    const action = (id: number, body: unknown, token = dispatcher) => uvis.api.post(`/api/v1/excursions/${id}/actions`, body, token);
    expect((await action(excursion.id, { action: 'PRAYED' })).status).toBe(400);
    expect((await action(excursion.id, { action: 'CLOSED_DOOR' }, driver.token)).status).toBe(403);
    expect((await action(999_999_999, { action: 'CLOSED_DOOR' })).status).toBe(404);

    const recorded = await action(excursion.id, { action: 'CLOSED_DOOR', note: '도어 닫힘 확인' });
    expect(recorded.status, recorded.text).toBe(201);
    expect(recorded.body).toMatchObject({ excursion_id: excursion.id, action: 'CLOSED_DOOR', note: '도어 닫힘 확인', by: expect.any(Number) });
    const listed = (await excursionsOf(dispatchId)).body.items[0];
    expect(listed.actions).toEqual([{ id: recorded.body.id, action: 'CLOSED_DOOR', note: '도어 닫힘 확인', by: recorded.body.by, at: recorded.body.at }]);

    const completed = await setStatus(driver.token, dispatchId, 'COMPLETED');
    expect(completed.status, completed.text).toBe(200);
    expect(completed.body.status).toBe('COMPLETED');
  });

  it('an OPEN excursion blocks completion even with an action; a superseded one takes no action', async () => {
    const { driver, dispatchId } = await pickedUpDispatch();
    const start = Date.now() - 10 * MINUTE;
    await postBatches(driver.token, [
      timeline(start, [
        { c: 4, n: 6 },
        { c: 15, n: 12 },
      ]),
    ]);
    const [excursion] = (await excursionsOf(dispatchId)).body.items;
    expect(excursion).toMatchObject({ kind: 'HIGH', status: 'OPEN', ended_at: null });
    expect((await uvis.api.post(`/api/v1/excursions/${excursion.id}/actions`, { action: 'ADJUSTED_SETPOINT' }, dispatcher)).status).toBe(201);
    const refused = await setStatus(driver.token, dispatchId, 'COMPLETED');
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.code).toBe('EXCURSION_UNRESOLVED');
    expect(refused.body.error.details.excursions[0]).toMatchObject({ id: excursion.id, status: 'OPEN', actions: 1 });
    // Other moves are not gated.
    expect((await setStatus(driver.token, dispatchId, 'IN_TRANSIT')).status).toBe(200);

    await db()('temperature_excursions').where({ id: excursion.id }).update({ superseded_at: new Date() });
    expect((await uvis.api.post(`/api/v1/excursions/${excursion.id}/actions`, { action: 'ADJUSTED_SETPOINT' }, dispatcher)).status).toBe(404);
    await db()('temperature_excursions').where({ id: excursion.id }).update({ superseded_at: null });
  });

  it('a dispatch without readings completes as before', async () => {
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin);
    const order = await createOrder(uvis.api, admin);
    const created = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
    expect((await setStatus(driver.token, created.body.id, 'COMPLETED')).status).toBe(200);
  });
});

describe('who reads excursions', () => {
  it('staff and the dispatch’s own driver; another driver gets 404', async () => {
    const { driver, dispatchId } = await pickedUpDispatch();
    const other = await createDriverAccount(uvis.api, admin);
    expect((await excursionsOf(dispatchId, dispatcher)).status).toBe(200);
    expect((await excursionsOf(dispatchId, admin)).status).toBe(200);
    expect((await excursionsOf(dispatchId, driver.token)).status).toBe(200);
    expect((await excursionsOf(dispatchId, other.token)).status).toBe(404);
    expect((await excursionsOf(999_999_999)).status).toBe(404);
    expect((await uvis.api.get(`/api/v1/dispatches/${dispatchId}/excursions`)).status).toBe(401);
  });

  it('lists the temperature profiles for staff', async () => {
    const res = await uvis.api.get('/api/v1/temperature-profiles', dispatcher);
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.map((p: { code: string }) => p.code)).toEqual(['CHILLED', 'FROZEN', 'AMBIENT', 'PHARMA_2_8']);
    expect(res.body.items[0]).toMatchObject({ code: 'CHILLED', label: '냉장', min_c: 0, max_c: 10, critical_max_c: null });
    expect(res.body.items[1]).toMatchObject({ code: 'FROZEN', min_c: null, max_c: -18, critical_max_c: -15 });
    expect(res.body.items[3]).toMatchObject({ code: 'PHARMA_2_8', min_c: 2, max_c: 8, critical_max_c: 15, mkt_max_c: 8, mkt_window_s: 86_400 });
    const driver = await createDriverAccount(uvis.api, admin);
    expect((await uvis.api.get('/api/v1/temperature-profiles', driver.token)).status).toBe(403);
  });
});

describe('concurrency', () => {
  it('eight evaluations of one dispatch at once store one row per excursion', async () => {
    const { vehicleId, dispatchId } = await pickedUpDispatch({ cargo_type: '냉동' });
    const start = Date.now() - 40 * MINUTE;
    // FROZEN: a warning run (−16 °C, above −18) and a critical spike (−10 °C, above −15), each closed.
    const values = [...Array(10).fill(-20), ...Array(12).fill(-16), ...Array(6).fill(-20), -10, ...Array(8).fill(-20)];
    // Stored directly, not through the worker, so the concurrent evaluations below are the first ones.
    await db()('temperature_readings').insert(
      values.map((c, i) => ({
        vehicle_id: vehicleId,
        dispatch_id: dispatchId,
        sensor: 'main',
        recorded_at: new Date(start + i * 10 * SECOND),
        temperature_c: c,
        source: 'gateway',
        received_at: new Date(),
      })),
    );
    const deps = { excursions: { openAfterS: OPEN_AFTER_S, closeAfterS: CLOSE_AFTER_S, gapS: GAP_S } };
    const now = new Date();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => transaction(uvis.running.deps, (tx) => evaluateDispatchExcursions(tx, deps, dispatchId, now))),
    );
    expect(results.every((r) => r?.excursions === 2)).toBe(true);
    // Serialized by the dispatch lock: exactly one evaluation wrote, the others found the rows as they are.
    expect(results.filter((r) => r!.written > 0)).toHaveLength(1);
    const rows = await db()('temperature_excursions').where({ dispatch_id: dispatchId }).orderBy('started_at');
    expect(rows.map((r) => [r.kind, r.severity, r.status, r.superseded_at])).toEqual([
      ['HIGH', 'WARNING', 'CLOSED', null],
      ['HIGH', 'CRITICAL', 'CLOSED', null],
    ]);
  });
});

describe('metrics and DATA_GAP', () => {
  it('uvis_temperature_excursions_open counts the current OPEN excursions by severity', async () => {
    const { driver } = await pickedUpDispatch({ cargo_type: '냉동' });
    const start = Date.now() - 5 * MINUTE;
    await postBatches(driver.token, [
      timeline(start, [
        { c: -20, n: 6 },
        { c: -12, n: 3 },
      ]),
    ]);
    const openIn = async (severity: string) =>
      Number((await db()('temperature_excursions').whereNull('superseded_at').where({ status: 'OPEN', severity }).count<{ n: string }[]>('* as n'))[0]!.n);
    expect(await openIn('CRITICAL')).toBeGreaterThanOrEqual(1);
    await waitFor(
      async () => {
        const samples = parseMetrics(await (await fetch(`${uvis.baseUrl}/metrics`)).text());
        return (
          total(samples, 'uvis_temperature_excursions_open', { severity: 'CRITICAL' }) === (await openIn('CRITICAL')) &&
          total(samples, 'uvis_temperature_excursions_open', { severity: 'WARNING' }) === (await openIn('WARNING'))
        );
      },
      { what: 'the gauge to match the open excursions' },
    );
  });

  it('the scheduled sweep opens a DATA_GAP once no reading came for TELEMETRY_GAP_S while on board, and closes it at delivery', async () => {
    expect(queueSchedules(uvis.config, ['telemetry'])).toEqual([expect.objectContaining({ jobName: 'telemetry.evaluate-gaps', cron: '* * * * *' })]);
    const { driver, dispatchId } = await pickedUpDispatch();
    await postBatches(driver.token, [timeline(Date.now() - 15 * MINUTE, [{ c: 4, n: 18 }])]);
    expect((await excursionsOf(dispatchId)).body.items).toEqual([]);

    // The assignment and the pickup happened ten minutes ago (their history rows, written by the dispatches
    // worker, moved back): no reading since, twice TELEMETRY_GAP_S. Only time passing shows it, so only the sweep can.
    const pickedUpAt = new Date(Date.now() - 10 * MINUTE);
    const history = () => db()('dispatch_status_history').where({ dispatch_id: dispatchId });
    await waitFor(async () => (await history()).length === 2, { what: 'the ASSIGNED and PICKED_UP history rows' });
    await history()
      .where({ to_status: 'ASSIGNED' })
      .update({ changed_at: new Date(pickedUpAt.getTime() - MINUTE) });
    await history().where({ to_status: 'PICKED_UP' }).update({ changed_at: pickedUpAt });
    const sweep = async (data: Record<string, unknown> = {}) => waitForJob((await uvis.running.deps.queues.telemetry.add('telemetry.evaluate-gaps', data)).id!);
    await sweep();
    const items = (await excursionsOf(dispatchId)).body.items;
    expect(items).toHaveLength(1);
    // The silence counts from the later of the last reading (before the pickup here) and the pickup.
    expect(items[0]).toMatchObject({
      kind: 'DATA_GAP',
      severity: 'WARNING',
      status: 'OPEN',
      ended_at: null,
      readings: 0,
      peak_c: null,
      started_at: iso(pickedUpAt.getTime()),
    });

    // Delivered: the cargo is off the truck, so the next sweep closes the gap at the delivery.
    const delivered = await setStatus(driver.token, dispatchId, 'DELIVERED');
    expect(delivered.status).toBe(200);
    const deliveredAt = (await db()('dispatches').where({ id: dispatchId }).first()).updated_at as Date;
    await sweep({ now: iso(Date.now() + 20 * MINUTE) });
    const [gap] = (await excursionsOf(dispatchId)).body.items;
    expect(gap).toMatchObject({ id: items[0].id, kind: 'DATA_GAP', status: 'CLOSED' });
    expect(Math.abs(new Date(gap.ended_at).getTime() - deliveredAt.getTime())).toBeLessThan(2 * SECOND);
  });
});
