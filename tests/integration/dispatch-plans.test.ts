/**
 * POST /api/v1/dispatch-plans and /dispatch-plans/:id/apply over real HTTP and PostgreSQL: a plan is
 * stored with its expiry, applied through the same use-case as a manual dispatch in one transaction,
 * refused with nothing written when it was applied, expired or made stale, and all-or-nothing when
 * manual dispatches race it (lock interleavings forced both ways, then free-running races).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { BUSAN, createPair, createPlacedOrder, pastTrip, retireDemoFleet } from '../helpers/dispatch-board.js';
import { assign, createDriver, createVehicle } from '../helpers/fixtures.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;
const MIN = 60_000;
const H = 60 * MIN;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api', env: { DB_POOL_MAX: '20' } });
  [admin, dispatcher] = await Promise.all([uvis.api.login(), uvis.api.login(DEMO_DISPATCHER)]);
  await retireDemoFleet(uvis.running.deps.db);
});
afterAll(async () => {
  await uvis?.stop();
});

interface Plan {
  id: number;
  expires_at: string;
  created_at: string;
  assignments: { order_id: number; vehicle_id: number; driver_id: number; score: number }[];
  unassigned: { order_id: number; reasons: { code: string; message: string; pairs?: number }[] }[];
  total_score: number;
  stats: { greedy: { assigned: number; total_score: number } };
}

async function plan(orderIds: number[]): Promise<Plan> {
  const res = await uvis.api.post('/api/v1/dispatch-plans', { order_ids: orderIds }, dispatcher);
  expect(res.status, res.text).toBe(201);
  return res.body;
}
const apply = (id: number, headers?: Record<string, string>) => uvis.api.post(`/api/v1/dispatch-plans/${id}/apply`, undefined, dispatcher, headers);
const planDispatches = (id: number) =>
  uvis.running.deps
    .db('dispatches')
    .where({ notes: `dispatch plan ${id}` })
    .orderBy('order_id');

/** n orders and n vehicle-driver pairs that can each take any of them. */
async function board(n: number) {
  const pairs = [];
  const orders = [];
  for (let i = 0; i < n; i++) {
    pairs.push(await createPair(uvis.api, admin));
    orders.push(await createPlacedOrder(uvis.api, dispatcher));
  }
  return { pairs, orderIds: orders.map((o) => o.id) };
}

describe('making and applying a plan', () => {
  it('assigns what it can, explains the rest, stores an expiry, and applies every dispatch through the manual rules', async () => {
    const near = await createPair(uvis.api, admin);
    const far = await createPair(uvis.api, admin, { base: BUSAN });
    const small = await createPair(uvis.api, admin, { vehicle: { capacity_kg: 500 } });
    const a = await createPlacedOrder(uvis.api, dispatcher);
    const b = await createPlacedOrder(uvis.api, dispatcher);
    const heavy = await createPlacedOrder(uvis.api, dispatcher, { weight: 50_000 });
    const before = Date.now();
    const made = await plan([a.id, b.id, heavy.id]);

    expect(made.assignments.map((x) => x.order_id).sort()).toEqual([a.id, b.id].sort());
    expect(made.assignments.map((x) => x.vehicle_id).sort()).toEqual([near.vehicleId, far.vehicleId].sort());
    expect(made.assignments.every((x) => x.vehicle_id !== small.vehicleId)).toBe(true);
    expect(made.total_score).toBeCloseTo(
      made.assignments.reduce((sum, x) => sum + x.score, 0),
      2,
    );
    expect(made.unassigned).toHaveLength(1);
    expect(made.unassigned[0]!.order_id).toBe(heavy.id);
    expect(made.unassigned[0]!.reasons[0]!.code).toBe('no_compatible_pair');
    expect(made.unassigned[0]!.reasons.find((r) => r.code === 'capacity_exceeded')!.pairs).toBeGreaterThanOrEqual(3);
    const ttl = new Date(made.expires_at).getTime() - new Date(made.created_at).getTime();
    expect(ttl).toBe(uvis.config.dispatch.planTtlSeconds * 1000);
    expect(new Date(made.created_at).getTime()).toBeGreaterThanOrEqual(before - 1000);

    const res = await apply(made.id);
    expect(res.status, res.text).toBe(201);
    expect(res.body.dispatches).toHaveLength(2);
    const rows = await planDispatches(made.id);
    expect(rows.map((d) => [d.order_id, d.vehicle_id, d.driver_id, d.status])).toEqual(
      made.assignments.map((x) => [x.order_id, x.vehicle_id, x.driver_id, 'ASSIGNED']).sort((p, q) => Number(p[0]) - Number(q[0])),
    );
    // Exactly as a manual dispatch: the order follows, and the same events go to the outbox.
    const db = uvis.running.deps.db;
    expect(await db('orders').whereIn('id', [a.id, b.id]).pluck('status')).toEqual(['ASSIGNED', 'ASSIGNED']);
    const events = await db('outbox')
      .whereRaw("payload->>'dispatchId' = any(?)", [rows.map((d) => String(d.id))])
      .pluck('job_name');
    expect(events).toHaveLength(2);
    const hooks = await db('outbox').whereRaw("payload->>'type' = 'dispatch.assigned' and (payload->'data'->>'order_id')::bigint = any(?)", [[a.id, b.id]]);
    expect(hooks).toHaveLength(2);

    const again = await apply(made.id);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('plan_already_applied');
    expect((await uvis.api.get(`/api/v1/dispatch-plans/${made.id}`, dispatcher)).body).toMatchObject({
      id: made.id,
      dispatch_ids: rows.map((d) => d.id).sort((p, q) => p - q),
    });
  });

  it('plans every PENDING order when no order_ids are given, and answers 404 for an unknown order or plan', async () => {
    const res = await uvis.api.post('/api/v1/dispatch-plans', undefined, dispatcher);
    expect(res.status, res.text).toBe(201);
    const pending = await uvis.running.deps.db('orders').where({ status: 'PENDING' }).pluck('id');
    const planned = [...res.body.assignments, ...res.body.unassigned].map((x: { order_id: number }) => x.order_id);
    expect(planned.sort()).toEqual(pending.sort());
    expect((await uvis.api.post('/api/v1/dispatch-plans', { order_ids: [999_999] }, dispatcher)).status).toBe(404);
    expect((await apply(999_999)).status).toBe(404);
  });

  it('replays a retried apply with the same Idempotency-Key', async () => {
    const { orderIds } = await board(1);
    const made = await plan(orderIds);
    const first = await apply(made.id, { 'Idempotency-Key': `apply-${made.id}` });
    const second = await apply(made.id, { 'Idempotency-Key': `apply-${made.id}` });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await planDispatches(made.id)).toHaveLength(1);
  });
});

describe('a plan is refused, and nothing written, when', () => {
  const refused = async (id: number, code: string) => {
    const db = uvis.running.deps.db;
    const before = await databaseFingerprint(db);
    const res = await apply(id);
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe(code);
    expect(await databaseFingerprint(db)).toEqual(before);
    return res.body.error;
  };

  it('an order of it was assigned by hand since (plan_stale, naming what changed)', async () => {
    const { pairs, orderIds } = await board(2);
    const spare = await createPair(uvis.api, admin);
    const made = await plan(orderIds);
    expect((await assign(uvis.api, dispatcher, orderIds[0]!, spare.vehicleId, spare.driverId)).status).toBe(201);
    const error = await refused(made.id, 'plan_stale');
    expect(error.details.added.join('\n')).toMatch(new RegExp(`order ${orderIds[0]} ASSIGNED`));
    expect(error.details.removed.join('\n')).toMatch(new RegExp(`order ${orderIds[0]} PENDING`));
    expect(await planDispatches(made.id)).toEqual([]);
    expect(pairs).toHaveLength(2);
  });

  it('a vehicle of the fleet was edited since', async () => {
    const { orderIds } = await board(1);
    const other = await createVehicle(uvis.api, admin);
    const made = await plan(orderIds);
    // Any fleet change counts, even of a vehicle the plan does not use: the optimum may differ.
    expect((await uvis.api.request('PATCH', `/api/v1/vehicles/${other.id}`, { json: { capacity_kg: 7000 }, token: admin })).status).toBe(200);
    await refused(made.id, 'plan_stale');
  });

  it('a driver of it is now outside the driving-time rules (time passes without changing any fact)', async () => {
    const { orderIds } = await board(1);
    const made = await plan(orderIds);
    expect(made.assignments).toHaveLength(1);
    const { vehicle_id: vehicleId, driver_id: driverId } = made.assignments[0]!;
    // A finished trip of 4 h 10 min that the history shows only now (the worker writes it late).
    const end = new Date(Date.now() - 2 * MIN);
    await pastTrip(uvis.running.deps.db, { vehicleId, driverId, start: new Date(end.getTime() - 4 * H - 10 * MIN), end });
    const error = await refused(made.id, 'plan_stale');
    expect(error.details.refused[0].reasons.map((r: { code: string }) => r.code)).toContain('driving_break_required');
  });

  it('it has expired', async () => {
    const { orderIds } = await board(1);
    const made = await plan(orderIds);
    await uvis.running.deps
      .db('dispatch_plans')
      .where({ id: made.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    await refused(made.id, 'plan_expired');
  });
});

/** A connection of its own, outside the app's pool, to hold row locks while the app waits on them. */
async function lockHolder() {
  const client = new pg.Client({ connectionString: uvis.database.url });
  await client.connect();
  await client.query('begin');
  return client;
}
const lockWaiters = async (n: number) =>
  waitFor(
    async () => {
      const { rows } = await uvis.running.deps.db.raw(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`,
      );
      return rows[0].n >= n ? true : undefined;
    },
    { what: `${n} session(s) waiting on a lock` },
  );

describe('apply under concurrent manual dispatches: all or nothing', () => {
  it('a manual dispatch that takes a planned order first makes the plan stale: nothing of the plan is created', async () => {
    const { orderIds } = await board(3);
    const spare = await createPair(uvis.api, admin);
    const made = await plan(orderIds);
    const target = made.assignments[made.assignments.length - 1]!.order_id;
    const holder = await lockHolder();
    try {
      await holder.query('select id from orders where id = $1 for update', [target]);
      const manual = assign(uvis.api, dispatcher, target, spare.vehicleId, spare.driverId);
      await lockWaiters(1);
      const applying = apply(made.id);
      await lockWaiters(2);
      await holder.query('commit');
      const [m, p] = await Promise.all([manual, applying]);
      expect(m.status, m.text).toBe(201);
      expect(p.status, p.text).toBe(409);
      expect(p.body.error.code).toBe('plan_stale');
    } finally {
      await holder.end();
    }
    expect(await planDispatches(made.id)).toEqual([]);
    expect(await uvis.running.deps.db('orders').whereIn('id', orderIds).whereNot({ id: target }).pluck('status')).toEqual(['PENDING', 'PENDING']);
  });

  it('a plan that holds its rows first is applied whole, and the manual dispatch racing it is refused', async () => {
    const { orderIds } = await board(3);
    const spare = await createPair(uvis.api, admin);
    const made = await plan(orderIds);
    const lastVehicle = Math.max(...made.assignments.map((x) => x.vehicle_id));
    const target = made.assignments[0]!.order_id;
    const holder = await lockHolder();
    try {
      // The plan gets its plan row and every order, then waits for this vehicle.
      await holder.query('select id from vehicles where id = $1 for no key update', [lastVehicle]);
      const applying = apply(made.id);
      await lockWaiters(1);
      const manual = assign(uvis.api, dispatcher, target, spare.vehicleId, spare.driverId);
      await lockWaiters(2);
      await holder.query('commit');
      const [p, m] = await Promise.all([applying, manual]);
      expect(p.status, p.text).toBe(201);
      expect(m.status, m.text).toBe(409);
      expect(m.body.error.details.map((d: { code: string }) => d.code)).toContain('order_not_pending');
    } finally {
      await holder.end();
    }
    expect(await planDispatches(made.id)).toHaveLength(3);
  });

  it('free-running races: every plan is applied whole or not at all, and no order, vehicle or driver is booked twice', async () => {
    for (let round = 0; round < 6; round++) {
      const { orderIds } = await board(4);
      const spares = [await createPair(uvis.api, admin), await createPair(uvis.api, admin)];
      const extra = await createPlacedOrder(uvis.api, dispatcher);
      const made = await plan(orderIds);
      expect(made.assignments).toHaveLength(4);
      // Manual dispatches of planned orders to pairs the plan leaves free, and of another order to a planned pair.
      const used = new Set(made.assignments.map((a) => a.vehicle_id));
      const free = spares.filter((p) => !used.has(p.vehicleId));
      const planned = made.assignments[round % 4]!;
      const racers = [
        apply(made.id),
        assign(uvis.api, dispatcher, orderIds[(round + 1) % 4]!, (free[0] ?? spares[0]!).vehicleId, (free[0] ?? spares[0]!).driverId),
        assign(uvis.api, dispatcher, extra.id, planned.vehicle_id, planned.driver_id),
        round % 2
          ? apply(made.id)
          : assign(uvis.api, dispatcher, orderIds[(round + 2) % 4]!, (free[1] ?? spares[1]!).vehicleId, (free[1] ?? spares[1]!).driverId),
      ];
      const results = await Promise.all(racers);
      for (const r of results) expect([201, 409], r.text).toContain(r.status);
      const created = await planDispatches(made.id);
      const applied = results.filter((r, i) => (i === 0 || (i === 3 && round % 2)) && r.status === 201);
      expect([0, 4], `round ${round}`).toContain(created.length);
      expect(applied.length).toBe(created.length ? 1 : 0);
      if (created.length === 4) {
        // The plan won: the manual dispatches that collided with it were refused.
        expect(results[1]!.status).toBe(409);
        expect(results[2]!.status).toBe(409);
      }
    }
    const db = uvis.running.deps.db;
    for (const column of ['order_id', 'vehicle_id', 'driver_id']) {
      const doubled = await db('dispatches')
        .whereIn('status', ['ASSIGNED', 'ACCEPTED', 'PICKED_UP', 'IN_TRANSIT', 'DELIVERED'])
        .groupBy(column)
        .havingRaw('count(*) > 1')
        .select(column);
      expect(doubled, column).toEqual([]);
    }
  });
});

describe('driver without a vehicle and a vehicle shared by two drivers', () => {
  it('never gives one vehicle two orders, even when two drivers are registered to it', async () => {
    const vehicle = await createVehicle(uvis.api, admin, { base: { lat: 37.5262, lng: 127.0473 } });
    const first = await createDriver(uvis.api, admin, { vehicle_id: vehicle.id });
    const second = await createDriver(uvis.api, admin, { vehicle_id: vehicle.id });
    const orders = [await createPlacedOrder(uvis.api, dispatcher), await createPlacedOrder(uvis.api, dispatcher)];
    // Retire every other vehicle so the shared one is the only candidate.
    await uvis.running.deps.db('vehicles').whereNot({ id: vehicle.id }).update({ active: false });
    const made = await plan(orders.map((o) => o.id));
    expect(made.assignments).toHaveLength(1);
    expect([first.id, second.id]).toContain(made.assignments[0]!.driver_id);
    expect(made.unassigned[0]!.reasons[0]!.code).toBe('compatible_pairs_taken');
  });
});
