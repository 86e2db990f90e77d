/**
 * Temperature excursions end to end (issue 15): readings posted over HTTP are evaluated after
 * the worker stores them, excursions are listed with their actions, corrective actions are
 * recorded, the completion gate (409 EXCURSION_UNRESOLVED) holds on every status-change path,
 * concurrent evaluations store one row per identity, the gauge counts open excursions, the
 * DATA_GAP sweep opens a gap, and excursion events are published live.
 * Small EXCURSION_* / TELEMETRY_GAP_S settings keep the timelines short; no waiting on the clock.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertReadings } from '../../db/temperatures.js';
import { queueSchedules } from '../../jobs/index.js';
import { liveChannel } from '../../lib/live-events.js';
import { changeDispatchStatus } from '../../use-cases/dispatches.js';
import { evaluateDispatchExcursions } from '../../use-cases/excursions.js';
import { transaction } from '../../use-cases/transaction.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { assign, backdatedDispatch, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
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
  const { vehicleId, driver, dispatchId } = await backdatedDispatch(uvis.api, db(), admin, 2 * 3600 * SECOND, orderOverrides);
  const picked = await setStatus(driver.token, dispatchId, 'PICKED_UP');
  expect(picked.status, picked.text).toBe(200);
  return { vehicleId, driver, dispatchId };
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

describe('windowed evaluation', () => {
  const deps = { excursions: { openAfterS: OPEN_AFTER_S, closeAfterS: CLOSE_AFTER_S, gapS: GAP_S } };
  const evaluate = (dispatchId: number, now: Date, trigger: 'readings' | 'clock') =>
    transaction(uvis.running.deps, (tx) => evaluateDispatchExcursions(tx, deps, dispatchId, now, trigger));
  /** Stores readings the way the telemetry worker does (which marks the dispatch pending), then runs the batch's evaluation. */
  const storeAndEvaluate = async (
    vehicleId: number,
    dispatchId: number,
    now: Date,
    readings: { sensor: string; t: number; c: number; door: boolean | null }[],
  ) => {
    const { dispatchIds } = await db().transaction((trx) =>
      insertReadings(
        trx,
        readings.map((r) => ({
          vehicle_id: vehicleId,
          sensor: r.sensor,
          recorded_at: new Date(r.t),
          temperature_c: r.c,
          setpoint_c: null,
          door_open: r.door,
          source: 'gateway' as const,
          received_at: now,
        })),
      ),
    );
    expect(dispatchIds).toEqual([dispatchId]);
    return evaluate(dispatchId, now, 'readings');
  };
  const currentRows = (dispatchId: number) =>
    db()('temperature_excursions')
      .where({ dispatch_id: dispatchId })
      .whereNull('superseded_at')
      .orderBy([{ column: 'sensor' }, { column: 'started_at' }, { column: 'kind' }]);
  /** A PICKED_UP dispatch whose on-board period is already in the status history (so no later evaluation sees it change). */
  async function onBoardDispatch(cargo: string, { onBoardSinceStart = false } = {}) {
    const d = await pickedUpDispatch({ cargo_type: cargo });
    await waitFor(async () => (await db()('dispatch_status_history').where({ dispatch_id: d.dispatchId, to_status: 'PICKED_UP' })).length === 1, {
      what: 'the PICKED_UP history row',
    });
    // On board since the dispatch began (two hours ago), so silences in the readings are DATA_GAPs; otherwise from now on.
    if (onBoardSinceStart) {
      await db()('dispatch_status_history')
        .where({ dispatch_id: d.dispatchId })
        .update({ changed_at: new Date(Date.now() - 2 * 3600 * SECOND) });
    }
    return d;
  }

  // FROZEN: warning above −18 °C, critical above −15 °C; temperatures around both limits, two sensors, gaps.
  const genSegment = fc.record({
    sensor: fc.constantFrom('main', 'rear'),
    c: fc.constantFrom(-20, -19, -18, -17.5, -16, -14, -12),
    n: fc.integer({ min: 1, max: 10 }),
    gapAfterS: fc.constantFrom(0, 0, 0, 0, 20, GAP_S + 10),
    door: fc.constantFrom(null, true, false),
  });

  it('shuffled batches evaluated in windows store exactly what one evaluation of the whole trip finds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(genSegment, { minLength: 2, maxLength: 14 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 5, max: 40 }),
        async (segments, seed, batchSize) => {
          const { vehicleId, dispatchId } = await onBoardDispatch('냉동', { onBoardSinceStart: true });
          const now = new Date();
          // Each sensor's own clock, 10 s a reading, from 100 minutes ago; a segment may end in a silence.
          const clocks: Record<string, number> = { main: now.getTime() - 100 * MINUTE, rear: now.getTime() - 100 * MINUTE + 3 * SECOND };
          const readings = segments.flatMap((seg) =>
            Array.from({ length: seg.n }, (_, i) => {
              const t = clocks[seg.sensor]!;
              clocks[seg.sensor] = t + 10 * SECOND + (i === seg.n - 1 ? seg.gapAfterS * SECOND : 0);
              return { sensor: seg.sensor, t, c: seg.c, door: seg.door };
            }),
          );
          // At most 14 × (10 readings + a 310 s silence) ≈ 96 min: every reading is inside the dispatch and before `now`.
          const batches = chunks(shuffled(readings, seed), batchSize);
          const results = [];
          for (const batch of batches) results.push(await storeAndEvaluate(vehicleId, dispatchId, now, batch));
          // The first evaluation of a dispatch is over everything; every later one is a window (fewer than 200 readings a sensor: no fallback).
          expect(results.map((r) => r?.windowed)).toEqual(batches.map((_, i) => i > 0));
          const windowed = await currentRows(dispatchId);
          // Forget the basis: the next evaluation is over the whole trip, at the same `now`. It must find nothing to change.
          await db()('excursion_evaluations').where({ dispatch_id: dispatchId }).update({ basis: null });
          const full = await evaluate(dispatchId, now, 'clock');
          expect(full).toMatchObject({ windowed: false, readings: readings.length, written: 0, superseded: 0 });
          expect(await currentRows(dispatchId)).toEqual(windowed);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('a batch in time order is evaluated from the reading before it, not over the whole trip', async () => {
    const { vehicleId, dispatchId } = await onBoardDispatch('냉동');
    const now = new Date();
    const start = now.getTime() - 90 * MINUTE;
    const reading = (i: number) => ({ sensor: 'main', t: start + i * 10 * SECOND, c: i >= 100 && i < 120 ? -16 : -20, door: null });
    const first = await storeAndEvaluate(
      vehicleId,
      dispatchId,
      now,
      Array.from({ length: 100 }, (_, i) => reading(i)),
    );
    expect(first).toMatchObject({ windowed: false, readings: 100 }); // the first evaluation of a dispatch is over everything
    // 50 more, the first 20 of them out of range (an excursion opens after 60 s), the rest back in range.
    const second = await storeAndEvaluate(
      vehicleId,
      dispatchId,
      now,
      Array.from({ length: 50 }, (_, i) => reading(100 + i)),
    );
    expect(second).toMatchObject({ windowed: true, readings: 51, written: 1 });
    // The excursion ended at reading 120 and was confirmed closed at 123: the next window starts at reading 149.
    const third = await storeAndEvaluate(
      vehicleId,
      dispatchId,
      now,
      Array.from({ length: 50 }, (_, i) => reading(150 + i)),
    );
    expect(third).toMatchObject({ windowed: true, readings: 51, written: 0, superseded: 0 });
    const rows = await currentRows(dispatchId);
    expect(rows.map((r) => [r.kind, r.status, r.started_at.getTime(), r.ended_at?.getTime()])).toEqual([
      ['HIGH', 'CLOSED', start + 100 * 10 * SECOND, start + 120 * 10 * SECOND],
    ]);
  });

  it('a late batch inside an excursion restarts before the excursion, and the result matches the whole trip', async () => {
    const { vehicleId, dispatchId } = await onBoardDispatch('냉동');
    const now = new Date();
    const start = now.getTime() - 90 * MINUTE;
    // -20 for 30 readings, -16 for 30 (a warning), -20 for 40; readings 40..49 arrive last.
    const all = Array.from({ length: 100 }, (_, i) => ({ sensor: 'main', t: start + i * 10 * SECOND, c: i >= 30 && i < 60 ? -16 : -20, door: null }));
    await storeAndEvaluate(vehicleId, dispatchId, now, [...all.slice(0, 40), ...all.slice(50)]);
    const late = await storeAndEvaluate(vehicleId, dispatchId, now, all.slice(40, 50));
    // The window restarts at reading 29 (the last settled one before the excursion that was running at reading 40).
    expect(late).toMatchObject({ windowed: true, readings: 71 });
    const rows = await currentRows(dispatchId);
    expect(rows.map((r) => [r.kind, r.status, r.readings, r.started_at.getTime()])).toEqual([['HIGH', 'CLOSED', 30, start + 30 * 10 * SECOND]]);
  });

  it('a late out-of-range reading in an excursion’s closing run extends the excursion instead of starting a window inside it', async () => {
    const { vehicleId, dispatchId } = await onBoardDispatch('냉동');
    const now = new Date();
    const start = now.getTime() - 90 * MINUTE;
    // −16 °C (a warning) at readings 30..59, back to −20 °C from 60; reading 63 never comes and 64 (−16 °C) comes last.
    const at = (i: number, c: number) => ({ sensor: 'main', t: start + i * 10 * SECOND, c, door: null });
    const early = Array.from({ length: 100 }, (_, i) => at(i, i >= 30 && i < 60 ? -16 : -20)).filter((_, i) => i !== 63 && i !== 64);
    await storeAndEvaluate(vehicleId, dispatchId, now, early);
    const before = await currentRows(dispatchId);
    expect(before.map((r) => [r.kind, r.ended_at?.getTime()])).toEqual([['HIGH', start + 60 * 10 * SECOND]]);
    // Confirmed closed at reading 65 (50 s back in range), so readings 60..62 are still inside it: the window must start before it.
    const late = await storeAndEvaluate(vehicleId, dispatchId, now, [at(64, -16)]);
    expect(late).toMatchObject({ windowed: true });
    const rows = await currentRows(dispatchId);
    expect(rows.map((r) => [r.kind, r.status, r.readings, r.started_at.getTime(), r.ended_at?.getTime()])).toEqual([
      ['HIGH', 'CLOSED', 34, start + 30 * 10 * SECOND, start + 65 * 10 * SECOND],
    ]);
  });

  it('a second evaluation for readings another evaluation already took does nothing', async () => {
    const { vehicleId, dispatchId } = await onBoardDispatch('냉동');
    const now = new Date();
    await storeAndEvaluate(vehicleId, dispatchId, now, [{ sensor: 'main', t: now.getTime() - MINUTE, c: -20, door: null }]);
    expect(await evaluate(dispatchId, now, 'readings')).toMatchObject({ skipped: true, readings: 0 });
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
  it('eight evaluations of one dispatch at once store one row per excursion, and seven of them find nothing pending', async () => {
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
    const rows = () => db()('temperature_excursions').where({ dispatch_id: dispatchId }).orderBy('started_at');
    const eightAtOnce = (trigger: 'readings' | 'clock') =>
      Promise.all(Array.from({ length: 8 }, () => transaction(uvis.running.deps, (tx) => evaluateDispatchExcursions(tx, deps, dispatchId, now, trigger))));
    // As eight jobs for the same readings: serialized by the dispatch lock, the first evaluates, the others find nothing pending.
    const results = await eightAtOnce('readings');
    expect(results.filter((r) => !r!.skipped).map((r) => [r!.excursions, r!.written])).toEqual([[2, 2]]);
    expect(results.filter((r) => r!.skipped)).toHaveLength(7);
    expect((await rows()).map((r) => [r.kind, r.severity, r.status, r.superseded_at])).toEqual([
      ['HIGH', 'WARNING', 'CLOSED', null],
      ['HIGH', 'CRITICAL', 'CLOSED', null],
    ]);
    // As eight sweeps at once: each evaluates, none finds anything to change.
    const stored = await rows();
    const sweeps = await eightAtOnce('clock');
    expect(sweeps.map((r) => [r!.skipped, r!.written, r!.superseded])).toEqual(Array(8).fill([false, 0, 0]));
    expect(await rows()).toEqual(stored);
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
