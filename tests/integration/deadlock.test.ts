/**
 * Dispatch writes and GPS batches on the same drivers and vehicles, at once: PostgreSQL
 * must never have to break a deadlock between them. Dispatch creation locks its vehicle
 * and driver rows; every stored GPS point's foreign-key checks take FOR KEY SHARE on its
 * driver, then its vehicle, held until the batch commits, for many drivers per batch.
 * Deadlocks are counted in pg_stat_database.deadlocks (every victim, whichever side
 * PostgreSQL picked), not in logs; 503s are counted on the HTTP answers.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/knex.js';
import type { PointRow } from '../../db/locations.js';
import { createLogger } from '../../lib/logger.js';
import { createMetrics } from '../../lib/metrics.js';
import { LocationWriter } from '../../jobs/location-writer.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { closePooledConnections, createTestDatabase, withAdminClient } from '../helpers/databases.js';
import { createDriverAccount, createVehicle } from '../helpers/fixtures.js';
import { deleteRedisPrefix, startTestUvis, type TestUvis } from '../helpers/uvis.js';

const deadlockCount = (database: string) =>
  withAdminClient(async (client) => {
    const { rows } = await client.query('select deadlocks::int as n from pg_stat_database where datname = $1', [database]);
    return rows[0].n as number;
  });

const sessionsWaitingOnLocks = (uvis: TestUvis) =>
  withAdminClient(async (client) => {
    const { rows } = await client.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [
      uvis.database.name,
    ]);
    return rows[0].n as number;
  });

/**
 * A UVIS on a fresh database, for one test: runs the work, stops UVIS and returns how
 * many deadlocks PostgreSQL broke in its database meanwhile. A backend adds its deadlocks
 * to pg_stat_database when it flushes its statistics, at the latest when it exits: so the
 * count is read once every backend of the database is gone.
 */
async function countDeadlocks(env: Record<string, string>, work: (uvis: TestUvis) => Promise<void>): Promise<number> {
  // Look for a deadlock after 100 ms instead of 1 s: the same cycles, broken (and counted) sooner.
  // Set before anything connects, so every backend (pooled by PgBouncer or not) starts with it.
  const database = await createTestDatabase();
  await withAdminClient((client) => client.query(`alter database ${database.name} set deadlock_timeout = '100ms'`));
  const uvis = await startTestUvis({ role: 'all', database, env: { RATE_LIMITS: 'off', ...env } });
  let stopped = false;
  try {
    const before = await deadlockCount(uvis.database.name);
    await work(uvis);
    await uvis.stop({ keepData: true });
    stopped = true;
    await closePooledConnections(uvis.database.name);
    await waitFor(
      () =>
        withAdminClient(
          async (client) => (await client.query('select count(*)::int as n from pg_stat_activity where datname = $1', [uvis.database.name])).rows[0].n === 0,
        ),
      { what: 'every backend of the test database gone' },
    );
    return (await deadlockCount(uvis.database.name)) - before;
  } finally {
    if (stopped) await Promise.all([uvis.database.drop(), deleteRedisPrefix(uvis.config.redisPrefix)]);
    else await uvis.stop();
  }
}

/** Drivers with accounts, each with his own usual vehicle, in ascending id order. */
async function fleet(uvis: TestUvis, admin: string, count: number) {
  const drivers: { driverId: number; vehicleId: number; token: string }[] = [];
  for (let i = 0; i < count; i++) {
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin, { vehicle_id: vehicle.id });
    drivers.push({ driverId: driver.driverId, vehicleId: vehicle.id, token: driver.token });
  }
  return drivers;
}

/** PENDING orders straight into the table: the dispatch side's requests are all dispatch writes. */
async function pendingOrders(uvis: TestUvis, count: number): Promise<number[]> {
  const rows: { id: number }[] = await uvis.running.deps
    .db('orders')
    .insert(
      Array.from({ length: count }, () => ({
        client_id: 1,
        pickup_address: '서울시 강남구 테헤란로 1',
        delivery_address: '부산시 해운대구 우동 1',
        cargo_type: 'CHILLED',
        weight_kg: 100,
      })),
    )
    .returning('id');
  return rows.map((r) => r.id);
}

describe('dispatch writes against GPS batches on the same drivers and vehicles', () => {
  it('the interleaving that deadlocked: a batch holding driver A waits, an assignment of A to vehicle B comes in, the batch then needs B', async () => {
    let created: { status: number; text: string } | undefined;
    let batch: PromiseSettledResult<void> | undefined;
    const deadlocks = await countDeadlocks({}, async (uvis) => {
      const admin = await uvis.api.login();
      const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
      const [a, b] = await fleet(uvis, admin, 2);
      const [orderId] = await pendingOrders(uvis, 1);
      // The worker's own batch writer, on a pool of its own, so that one batch surely holds both drivers.
      const db = createDb({ url: uvis.database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 20_000 });
      const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
      const writer = new LocationWriter(db, createMetrics('test'), log, { maxPoints: 10_000, maxWaitMs: 0 });
      const blocker = await uvis.running.deps.db.transaction();
      try {
        // Something holds driver B for a moment (in the old code: any assignment of B).
        await blocker('drivers').where({ id: b!.driverId }).forUpdate().first();
        // The batch locks driver A and A's vehicle (FK checks, in id order), then waits for driver B ...
        const points = (driverId: number): PointRow[] =>
          Array.from({ length: 3 }, (_, i) => ({
            driver_id: driverId,
            latitude: 37.5,
            longitude: 127,
            speed_kmh: null,
            heading_deg: null,
            accuracy_m: null,
            recorded_at: new Date(Date.now() - 1000 + i),
            received_at: new Date(),
            point_key: `interleave-${i}`,
          }));
        const written = writer.write([...points(a!.driverId), ...points(b!.driverId)]).then(
          () => ({ status: 'fulfilled' as const, value: undefined }),
          (reason: unknown) => ({ status: 'rejected' as const, reason }),
        );
        await waitFor(async () => (await sessionsWaitingOnLocks(uvis)) >= 1, { what: 'the batch waiting for driver B' });
        // ... while A is assigned to B's vehicle: the assignment takes vehicle B, then driver A.
        let answered = false;
        const request = uvis.api
          .post('/api/v1/dispatches', { order_id: orderId, vehicle_id: b!.vehicleId, driver_id: a!.driverId }, dispatcher)
          .finally(() => (answered = true));
        // Either it is answered at once (it does not wait for the batch) or it waits for driver A.
        await waitFor(async () => answered || (await sessionsWaitingOnLocks(uvis)) >= 2, { what: 'the assignment answered or waiting' });
        // Driver B is released: the batch takes it, and then wants vehicle B.
        await blocker.commit();
        created = await request;
        batch = await written;
      } finally {
        if (!blocker.isCompleted()) await blocker.rollback();
        await writer.close();
        await db.destroy();
      }
    });
    console.log(`[deadlock] interleaving: deadlocks=${deadlocks} assignment=${created?.status} batch=${batch?.status}`);
    expect({ deadlocks, assignment: created?.status, batch: batch?.status }).toEqual({ deadlocks: 0, assignment: 201, batch: 'fulfilled' });
  });

  it('under mixed load over HTTP (assignments, status changes, cancellations, GPS posts): no 503, nothing in pg_stat_database.deadlocks', async () => {
    const LANES = 8; // drivers, each with a usual vehicle
    const LOAD_MS = 6000; // how long the lanes keep assigning
    const POINTS_PER_POST = 20;
    const statuses: Record<string, Record<number, number>> = {};
    const count = (what: string, status: number) => {
      statuses[what] ??= {};
      statuses[what][status] = (statuses[what][status] ?? 0) + 1;
    };
    let assignments = 0;
    let posted = 0;
    // Batches collected for 100 ms: each holds many drivers' and vehicles' FK locks at once.
    const deadlocks = await countDeadlocks({ DB_POOL_MAX: '20', LOCATION_BATCH_MAX_WAIT_MS: '100' }, async (uvis) => {
      const { api } = uvis;
      const admin = await api.login();
      const dispatcher = await api.login(DEMO_DISPATCHER);
      const drivers = await fleet(uvis, admin, LANES);
      const orders = await pendingOrders(uvis, LANES * 200);
      // Each stored point costs 2 ms more, as on a busy disk: a batch holds its FK locks long
      // enough for the dangerous interleaving to come up steadily even on a small, busy machine.
      await uvis.running.deps.db.raw(`
        create function slow_point() returns trigger language plpgsql as $$ begin perform pg_sleep(0.002); return null; end $$;
        create trigger zz_slow_point after insert on vehicle_locations for each row execute function slow_point();`);

      const deadline = Date.now() + LOAD_MS;
      // A post of 20 points every 100 ms per driver: one offline buffer after another.
      const gps = async (driver: { token: string }) => {
        for (let n = 0; Date.now() < deadline; n++) {
          const next = Date.now() + 100;
          const base = Date.now() - 60_000;
          const points = Array.from({ length: POINTS_PER_POST }, (_, i) => ({
            latitude: 37 + i / 1e4,
            longitude: 127 + n / 1e4,
            recorded_at: new Date(base + i).toISOString(),
            point_id: `${n}-${i}`,
          }));
          const res = await api.post('/api/v1/mobile/locations', { points }, driver.token);
          count('gps', res.status);
          if (res.status === 202) posted += POINTS_PER_POST;
          await new Promise((resolve) => setTimeout(resolve, next - Date.now()));
        }
      };
      // Each lane is one driver, assigned again and again to whichever vehicle is free (at
      // random, so every driver meets every vehicle), moved forward, then completed or cancelled.
      const freeVehicles = drivers.map((d) => d.vehicleId);
      const lane = async (driver: (typeof drivers)[number]) => {
        while (Date.now() < deadline) {
          const [vehicleId] = freeVehicles.splice(Math.floor(Math.random() * freeVehicles.length), 1);
          try {
            const created = await api.post('/api/v1/dispatches', { order_id: orders.pop(), vehicle_id: vehicleId, driver_id: driver.driverId }, dispatcher);
            count('create', created.status);
            if (created.status !== 201) continue;
            assignments++;
            const id = created.body.id as number;
            const status = (s: string) => api.request('PUT', `/api/v1/mobile/dispatches/${id}/status`, { json: { status: s }, token: driver.token });
            count('status', (await status('ACCEPTED')).status);
            if (assignments % 3 === 0) count('cancel', (await api.post(`/api/v1/dispatches/${id}/cancel`, {}, dispatcher)).status);
            else count('status', (await status('COMPLETED')).status);
          } finally {
            freeVehicles.push(vehicleId!);
          }
        }
      };
      await Promise.all([...drivers.map((d) => gps(d)), ...drivers.map((d) => lane(d))]);
    });
    const unavailable = Object.values(statuses).reduce((sum, byStatus) => sum + (byStatus[503] ?? 0), 0);
    console.log(
      `[deadlock] mixed load: deadlocks=${deadlocks} 503s=${unavailable} assignments=${assignments} points=${posted} statuses=${JSON.stringify(statuses)}`,
    );
    expect({ deadlocks, unavailable }).toEqual({ deadlocks: 0, unavailable: 0 });
    // Every request was a legal one: a free vehicle, a free driver, a PENDING order, a forward move.
    expect(Object.keys(statuses.create ?? {})).toEqual(['201']);
    expect(assignments).toBeGreaterThan(LANES);
  });
});
