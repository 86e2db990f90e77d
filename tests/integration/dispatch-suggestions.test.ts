/**
 * GET /api/v1/orders/:id/suggestions over real HTTP and PostgreSQL: the ranking and its terms,
 * every excluded reason on a pair built to have it, the driving-time rules around their boundaries
 * from real status history rows, readings and positions from their own tables, and the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seoulDay } from '../../domain/seoul-day.js';
import { DEMO_DISPATCHER, DEMO_DRIVER2 } from '../helpers/api-client.js';
import { BUSAN, createPair, createPlacedOrder, GANGNAM, NEAR_GANGNAM, pastTrip, retireDemoFleet } from '../helpers/dispatch-board.js';
import { assign, createDriver, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;
const MIN = 60_000;
const H = 60 * MIN;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  [admin, dispatcher] = await Promise.all([uvis.api.login(), uvis.api.login(DEMO_DISPATCHER)]);
  await retireDemoFleet(uvis.running.deps.db);
});
afterAll(async () => {
  await uvis?.stop();
});

interface Answer {
  order_id: number;
  items: {
    vehicle_id: number;
    driver_id: number;
    score: number;
    distance_km: number | null;
    terms: Record<string, number>;
    details: Record<string, unknown>;
  }[];
  excluded: { vehicle_id: number | null; driver_id: number | null; reasons: { code: string; message: string; until?: string }[] }[];
}

async function suggestions(orderId: number, limit = 50): Promise<Answer> {
  const res = await uvis.api.get(`/api/v1/orders/${orderId}/suggestions?limit=${limit}`, dispatcher);
  expect(res.status, res.text).toBe(200);
  return res.body;
}
const reasonsOf = (answer: Answer, pair: { vehicleId: number; driverId: number }) =>
  answer.excluded.find((e) => e.vehicle_id === pair.vehicleId && e.driver_id === pair.driverId)?.reasons.map((r) => r.code) ?? [];
const itemOf = (answer: Answer, pair: { vehicleId: number; driverId: number }) =>
  answer.items.find((i) => i.vehicle_id === pair.vehicleId && i.driver_id === pair.driverId);

describe('ranking', () => {
  it('ranks the pairs that pass every filter by score, with the value of each term and what it was computed from', async () => {
    const near = await createPair(uvis.api, admin, { base: NEAR_GANGNAM });
    const far = await createPair(uvis.api, admin, { base: BUSAN });
    // A vehicle whose base is far but whose driver last reported from it next to the pickup.
    const gps = await createPair(uvis.api, admin, { base: BUSAN });
    await uvis.running.deps
      .db('driver_positions')
      .insert({ driver_id: gps.driverId, vehicle_id: gps.vehicleId, latitude: GANGNAM.lat, longitude: GANGNAM.lng, recorded_at: new Date() });
    const order = await createPlacedOrder(uvis.api, dispatcher, { weight: 2500 });

    const answer = await suggestions(order.id);
    expect(answer.order_id).toBe(order.id);
    const [first, second] = [itemOf(answer, gps)!, itemOf(answer, near)!];
    const third = itemOf(answer, far)!;
    expect(first.distance_km).toBe(0);
    expect(first.details).toMatchObject({ position: 'gps', assignments_today: 0, temperature_c: null });
    expect(second.distance_km).toBe(1);
    expect(second.details).toMatchObject({ position: 'base', position_at: null });
    expect(third.distance_km).toBeGreaterThan(300);
    expect(first.terms).toEqual({ distance: 1, capacity_fit: 0.5, reefer_readiness: 0.5, fairness: 1 });
    // 100 × (0.5·1 + 0.15·0.5 + 0.2·0.5 + 0.15·1) / 1
    expect(first.score).toBe(82.5);
    const order3 = answer.items.map((i) => i.vehicle_id).filter((id) => [gps.vehicleId, near.vehicleId, far.vehicleId].includes(id));
    expect(order3).toEqual([gps.vehicleId, near.vehicleId, far.vehicleId]);
    for (let i = 1; i < answer.items.length; i++) expect(answer.items[i - 1]!.score).toBeGreaterThanOrEqual(answer.items[i]!.score);

    // limit cuts the suggestions, never the excluded pairs.
    const one = await suggestions(order.id, 1);
    expect(one.items).toHaveLength(1);
    expect(one.excluded).toEqual(answer.excluded);
  });

  it('scores reefer readiness from the latest reading and fairness from the assignments of the day', async () => {
    const cold = await createPair(uvis.api, admin);
    const warm = await createPair(uvis.api, admin);
    const db = uvis.running.deps.db;
    const now = Date.now();
    await db('temperature_readings').insert([
      { vehicle_id: cold.vehicleId, sensor: 'rear', recorded_at: new Date(now - 2 * MIN), temperature_c: 20, source: 'gateway' },
      { vehicle_id: cold.vehicleId, sensor: 'front', recorded_at: new Date(now - MIN), temperature_c: 4, source: 'gateway' },
      { vehicle_id: warm.vehicleId, sensor: 'main', recorded_at: new Date(now - MIN), temperature_c: 15, source: 'driver' },
    ]);
    // One assignment today for the warm truck's driver (without driving), and a cancelled one that does not count.
    await pastTrip(db, { driverId: warm.driverId, vehicleId: warm.vehicleId, start: new Date(now - MIN), end: new Date(now - MIN), driving: false });
    const order = await createPlacedOrder(uvis.api, dispatcher);
    const other = await createPlacedOrder(uvis.api, dispatcher);
    const cancelled = await assign(uvis.api, dispatcher, other.id, warm.vehicleId, warm.driverId);
    expect((await uvis.api.post(`/api/v1/dispatches/${cancelled.body.id}/cancel`, {}, dispatcher)).status).toBe(200);

    const answer = await suggestions(order.id);
    expect(itemOf(answer, cold)).toMatchObject({ terms: { reefer_readiness: 1, fairness: 1 }, details: { temperature_c: 4 } });
    // Created 11 minutes ago: today unless the day is younger than that.
    const today = now - 11 * MIN >= seoulDay(new Date(now)).start.getTime() ? 1 : 0;
    expect(itemOf(answer, warm)).toMatchObject({
      terms: { reefer_readiness: 0.5, fairness: today ? 0.5 : 1 },
      details: { temperature_c: 15, assignments_today: today },
    });
  });
});

describe('excluded pairs, each with every reason', () => {
  it('names inactive, busy, capacity, cargo class, no driver and no vehicle', async () => {
    const db = uvis.running.deps.db;
    const inactiveVehicle = await createPair(uvis.api, admin);
    await db('vehicles').where({ id: inactiveVehicle.vehicleId }).update({ active: false });
    const inactiveDriver = await createPair(uvis.api, admin);
    expect((await uvis.api.post(`/api/v1/drivers/${inactiveDriver.driverId}/deactivate`, undefined, admin)).status).toBe(200);
    const small = await createPair(uvis.api, admin, { vehicle: { capacity_kg: 500 } });
    const dry = await createPair(uvis.api, admin, { vehicle: { vehicle_type: 'DRY' } });
    const both = await createPair(uvis.api, admin, { vehicle: { vehicle_type: 'DRY', capacity_kg: 500 } });
    // Busy: the vehicle on a dispatch with some other driver; the driver on a dispatch with some other vehicle.
    const busyVehicle = await createPair(uvis.api, admin);
    const busyDriver = await createPair(uvis.api, admin);
    const spareDriver = await createDriver(uvis.api, admin);
    const spareVehicle = await createVehicle(uvis.api, admin);
    const x = await createPlacedOrder(uvis.api, dispatcher);
    const y = await createPlacedOrder(uvis.api, dispatcher);
    const onVehicle = await assign(uvis.api, dispatcher, x.id, busyVehicle.vehicleId, spareDriver.id);
    const onDriver = await assign(uvis.api, dispatcher, y.id, spareVehicle.id, busyDriver.driverId);
    expect([onVehicle.status, onDriver.status]).toEqual([201, 201]);
    const nobodyDrives = await createVehicle(uvis.api, admin);
    const walking = await createDriver(uvis.api, admin);

    const order = await createPlacedOrder(uvis.api, dispatcher);
    const answer = await suggestions(order.id);
    expect(reasonsOf(answer, inactiveVehicle)).toEqual(['vehicle_inactive']);
    expect(reasonsOf(answer, inactiveDriver)).toEqual(['driver_inactive']);
    expect(reasonsOf(answer, small)).toEqual(['capacity_exceeded']);
    expect(reasonsOf(answer, dry)).toEqual(['cargo_class_unsupported']);
    expect(reasonsOf(answer, both)).toEqual(['capacity_exceeded', 'cargo_class_unsupported']);
    expect(reasonsOf(answer, busyVehicle)).toEqual(['vehicle_busy']);
    expect(reasonsOf(answer, busyDriver)).toEqual(['driver_busy']);
    expect(answer.excluded.find((e) => e.vehicle_id === nobodyDrives.id)).toEqual({
      vehicle_id: nobodyDrives.id,
      driver_id: null,
      license_plate: expect.any(String),
      driver_name: null,
      reasons: [{ code: 'no_driver', message: `no driver has vehicle ${nobodyDrives.id} registered` }],
    });
    expect(answer.excluded.find((e) => e.driver_id === walking.id)).toMatchObject({ vehicle_id: null, reasons: [{ code: 'no_vehicle' }] });
    const busyReason = answer.excluded.find((e) => e.vehicle_id === busyVehicle.vehicleId)!.reasons[0]!;
    expect(busyReason.message).toBe(`vehicle ${busyVehicle.vehicleId} is busy on dispatch ${onVehicle.body.id}`);
    // No excluded pair shows up among the suggestions, and the reverse.
    for (const e of answer.excluded) expect(answer.items.some((i) => i.vehicle_id === e.vehicle_id && i.driver_id === e.driver_id)).toBe(false);
  });

  it("names a vehicle whose holds cannot keep the order's temperature profile", async () => {
    const dryOnly = await createPair(uvis.api, admin, { vehicle: { vehicle_type: 'DRY' } });
    const reefer = await createPair(uvis.api, admin, { vehicle: { vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED', 'AMBIENT'] } });
    const pharma = await createPlacedOrder(uvis.api, dispatcher, { cargo_type: '상온', temperature_profile: 'PHARMA_2_8' });
    const answer = await suggestions(pharma.id);
    expect(reasonsOf(answer, dryOnly)).toEqual(['temperature_profile_unsupported']);
    expect(itemOf(answer, reefer)).toBeDefined();
  });
});

describe('driving-time rules from the dispatch status history', () => {
  it('4 hours of continuous driving: 3 h 59 min passes, 4 h 01 min is excluded until 30 minutes after it ended', async () => {
    const db = uvis.running.deps.db;
    const rested = await createPair(uvis.api, admin);
    const tired = await createPair(uvis.api, admin);
    const end = new Date(Date.now() - 5 * MIN);
    await pastTrip(db, { ...rested, start: new Date(end.getTime() - 3 * H - 59 * MIN), end });
    await pastTrip(db, { ...tired, start: new Date(end.getTime() - 4 * H - MIN), end });
    const order = await createPlacedOrder(uvis.api, dispatcher);
    const answer = await suggestions(order.id);

    expect(reasonsOf(answer, rested)).not.toContain('driving_break_required');
    // In the small hours a trip that long began yesterday, and the 11-hour rest applies too.
    if (!reasonsOf(answer, rested).includes('daily_rest_required')) expect(itemOf(answer, rested)).toBeDefined();
    expect(reasonsOf(answer, tired)).toContain('driving_break_required');
    const reason = answer.excluded.find((e) => e.driver_id === tired.driverId)!.reasons.find((r) => r.code === 'driving_break_required')!;
    expect(new Date(reason.until!).getTime()).toBe(end.getTime() + 30 * MIN);
    expect(reason.message).toMatch(/4 h 01 min of continuous driving/);
  });

  it('11 hours of rest between working days: 10 h 59 min is excluded, 11 h passes', async () => {
    const db = uvis.running.deps.db;
    const short = await createPair(uvis.api, admin);
    const enough = await createPair(uvis.api, admin);
    const now = Date.now();
    const todayStart = seoulDay(new Date(now)).start.getTime();
    // The last working day's driving began before today (Korean time) and ended 10 h 59 min or 11 h ago.
    const trip = (restMs: number) => {
      const end = now - restMs;
      return { start: new Date(Math.min(end - H, todayStart - MIN)), end: new Date(end) };
    };
    await pastTrip(db, { ...short, ...trip(10 * H + 59 * MIN) });
    await pastTrip(db, { ...enough, ...trip(11 * H) });
    const order = await createPlacedOrder(uvis.api, dispatcher);
    const answer = await suggestions(order.id);

    expect(reasonsOf(answer, short)).toEqual(['daily_rest_required']);
    expect(itemOf(answer, enough)).toBeDefined();
  });
});

describe('refusals', () => {
  it('404 for an unknown order, 409 for one that is not PENDING, 403 for a driver, 400 for a bad limit', async () => {
    expect((await uvis.api.get('/api/v1/orders/999999/suggestions', dispatcher)).status).toBe(404);
    const pair = await createPair(uvis.api, admin);
    const order = await createPlacedOrder(uvis.api, dispatcher);
    expect((await assign(uvis.api, dispatcher, order.id, pair.vehicleId, pair.driverId)).status).toBe(201);
    const taken = await uvis.api.get(`/api/v1/orders/${order.id}/suggestions`, dispatcher);
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('order_not_pending');
    const driver = await uvis.api.login(DEMO_DRIVER2);
    expect((await uvis.api.get(`/api/v1/orders/${order.id}/suggestions`, driver)).status).toBe(403);
    expect((await uvis.api.get(`/api/v1/orders/${order.id}/suggestions?limit=0`, dispatcher)).status).toBe(400);
  });
});
