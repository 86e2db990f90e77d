/**
 * The dashboard's API: role boundaries, the read endpoints, the live event stream
 * (events published by workers reach a browser connected to any API replica), the
 * stream's own rules (expiry, revocation, draining), and how the built page is served.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRouter } from '../../dashboard/mount.js';
import { liveChannel } from '../../lib/live-events.js';
import { LiveHub } from '../../lib/live-subscriber.js';
import { createLogger } from '../../lib/logger.js';
import { createRedis } from '../../lib/redis.js';
import { DEMO_DISPATCHER, DEMO_DRIVER2, waitFor } from '../helpers/api-client.js';
import { assign, createDriver, createOrder, createVehicle } from '../helpers/fixtures.js';
import { baseUrls } from '../helpers/databases.js';
import { openStream } from '../helpers/sse.js';
import { newPrefix, startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;
let driver2: string;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
  [admin, dispatcher, driver2] = await Promise.all([uvis.api.login(), uvis.api.login(DEMO_DISPATCHER), uvis.api.login(DEMO_DRIVER2)]);
});
afterAll(async () => {
  await uvis?.stop();
});

describe('dashboard endpoints: who may call them', () => {
  const paths = [
    '/api/v1/dashboard/session',
    '/api/v1/dashboard/positions',
    '/api/v1/dashboard/dispatches',
    '/api/v1/dashboard/queues',
    '/api/v1/dashboard/events',
  ];

  it('refuses anonymous callers (401) and drivers (403) with the error shape', async () => {
    for (const path of paths) {
      const anonymous = await uvis.api.get(path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      const driver = await uvis.api.get(path, driver2);
      expect(driver.status, path).toBe(403);
      expect(driver.body.error.code).toBe('forbidden');
    }
  });

  it('answers dispatchers and admins', async () => {
    for (const token of [dispatcher, admin]) {
      for (const path of paths.filter((p) => !p.endsWith('/events'))) {
        const res = await uvis.api.get(path, token);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
      const stream = await openStream(`${uvis.baseUrl}/api/v1/dashboard/events`, token);
      expect(stream.res.status).toBe(200);
      await stream.next('hello');
      await stream.close();
    }
  });

  it('refuses unknown query parameters', async () => {
    const res = await uvis.api.get('/api/v1/dashboard/positions?debug=1', dispatcher);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  });
});

describe('dashboard reads', () => {
  it('session tells the page who is signed in', async () => {
    expect((await uvis.api.get('/api/v1/dashboard/session', dispatcher)).body).toEqual({
      user_id: 2,
      email: 'dispatcher@example.com',
      role: 'dispatcher',
      driver_id: null,
    });
    expect((await uvis.api.get('/api/v1/dashboard/session', admin)).body).toMatchObject({ role: 'admin', driver_id: 1 });
  });

  it('positions lists every active vehicle with its last position, and follows a posted location', async () => {
    const before = await uvis.api.get('/api/v1/dashboard/positions', dispatcher);
    expect(before.body.stale_after_seconds).toBeGreaterThan(0);
    expect(Date.parse(before.body.server_time)).not.toBeNaN();
    const byVehicle = new Map<number, any>(before.body.items.map((p: any) => [p.vehicle_id, p]));
    expect([...byVehicle.keys()]).toEqual(expect.arrayContaining([1, 2, 3, 4, 5]));
    expect(byVehicle.get(2)).toMatchObject({ license_plate: '34나5678', vehicle_type: 'FREEZER', driver_id: 2, driver_name: '이서준', latitude: 35.1631 });
    expect(byVehicle.get(1)).toMatchObject({ latitude: null, recorded_at: null });

    const posted = await uvis.api.post('/api/v1/mobile/location', { latitude: 37.7519, longitude: 128.8761 }, driver2);
    expect(posted.status).toBe(202);
    const moved = await waitFor(
      async () => {
        const res = await uvis.api.get('/api/v1/dashboard/positions', dispatcher);
        return res.body.items.find((p: any) => p.vehicle_id === 2 && p.latitude === 37.7519);
      },
      { what: 'vehicle 2 at its new position' },
    );
    expect(moved).toMatchObject({ longitude: 128.8761, driver_id: 2 });
    expect(Date.parse(moved.recorded_at)).toBeGreaterThan(Date.parse(byVehicle.get(2).recorded_at));
  });

  it('dispatches lists active dispatches with order, vehicle, driver and history', async () => {
    const order = await createOrder(uvis.api, dispatcher, { pickup_address: '서울특별시 마포구 월드컵로 1', delivery_address: '인천광역시 연수구 송도동 1' });
    const created = await assign(uvis.api, dispatcher, order.id, 1, 1);
    expect(created.status, created.text).toBe(201);
    const listed = await waitFor(
      async () => {
        const res = await uvis.api.get('/api/v1/dashboard/dispatches', dispatcher);
        const found = res.body.items.find((d: any) => d.id === created.body.id);
        return found?.history.length ? found : undefined;
      },
      { what: 'the dispatch with its first history entry' },
    );
    expect(listed).toMatchObject({
      status: 'ASSIGNED',
      order_id: order.id,
      vehicle_id: 1,
      driver_id: 1,
      license_plate: '12가3456',
      driver_name: '김민수',
      order: { pickup_address: '서울특별시 마포구 월드컵로 1', cargo_type: 'CHILLED', status: 'ASSIGNED', client_id: 1 },
      history: [{ from_status: null, to_status: 'ASSIGNED' }],
    });
    // Finished dispatches leave the list.
    await uvis.api.request('POST', `/api/v1/dispatches/${created.body.id}/cancel`, { token: dispatcher, json: {} });
    const after = await uvis.api.get('/api/v1/dashboard/dispatches', dispatcher);
    expect(after.body.items.some((d: any) => d.id === created.body.id)).toBe(false);
  });

  it('dispatches carry the latest reading, the resolved limits (a 0 °C limit stays 0) and the excursion counts', async () => {
    const db = uvis.running.deps.db;
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriver(uvis.api, admin);
    // Own limits 0..5 °C: the 0 must come back as 0, not as "no limit".
    const order = await createOrder(uvis.api, dispatcher, { temp_min_c: 0, temp_max_c: 5 });
    const created = await assign(uvis.api, dispatcher, order.id, vehicle.id, driver.id);
    expect(created.status, created.text).toBe(201);
    const dispatchId = created.body.id as number;
    const other = await createOrder(uvis.api, dispatcher, { cargo_type: 'FROZEN' });
    const vehicle2 = await createVehicle(uvis.api, admin, { vehicle_type: 'FREEZER' });
    const driver3 = await createDriver(uvis.api, admin);
    const plain = await assign(uvis.api, dispatcher, other.id, vehicle2.id, driver3.id);
    expect(plain.status, plain.text).toBe(201);

    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    await db('temperature_readings').insert([
      { vehicle_id: vehicle.id, dispatch_id: dispatchId, sensor: 'main', recorded_at: at(30), temperature_c: 3.5, source: 'driver' },
      { vehicle_id: vehicle.id, dispatch_id: dispatchId, sensor: 'main', recorded_at: at(2), temperature_c: 7.25, source: 'driver' },
      { vehicle_id: vehicle.id, dispatch_id: dispatchId, sensor: 'rear', recorded_at: at(10), temperature_c: 4, source: 'driver' },
    ]);
    const excursion = (minutesAgo: number, status: 'OPEN' | 'CLOSED', extra: Record<string, unknown> = {}) => ({
      dispatch_id: dispatchId,
      vehicle_id: vehicle.id,
      sensor: 'main',
      kind: 'HIGH',
      severity: 'WARNING',
      status,
      started_at: at(minutesAgo),
      ended_at: status === 'CLOSED' ? at(minutesAgo - 5) : null,
      duration_s: 300,
      peak_c: 7.25,
      readings: 3,
      ...extra,
    });
    const [open, closedResolved] = await db('temperature_excursions')
      .insert([
        excursion(20, 'OPEN'),
        excursion(60, 'CLOSED'),
        excursion(90, 'CLOSED'),
        // Superseded rows are not current: never counted.
        excursion(120, 'OPEN', { superseded_at: new Date() }),
      ])
      .returning('id');
    await db('excursion_actions').insert({ excursion_id: closedResolved.id, action: 'CLOSED_DOOR', note: 'door shut' });
    await db('excursion_actions').insert({ excursion_id: open.id, action: 'ADJUSTED_SETPOINT', note: null });

    const res = await uvis.api.get('/api/v1/dashboard/dispatches', dispatcher);
    expect(res.status).toBe(200);
    const listed = res.body.items.find((d: any) => d.id === dispatchId);
    expect(listed.latest_reading).toEqual({ temperature_c: 7.25, recorded_at: at(2).toISOString(), sensor: 'main' });
    expect(listed.limits).toEqual({
      source: 'ORDER',
      profile: null,
      label: null,
      label_en: null,
      min_c: 0,
      max_c: 5,
      critical_min_c: null,
      critical_max_c: null,
    });
    // OPEN (even with an action) and CLOSED without an action are unresolved; CLOSED with an action is not.
    expect(listed.excursions).toEqual({ open: 1, unresolved: 2, total: 3 });

    const frozen = res.body.items.find((d: any) => d.id === plain.body.id);
    expect(frozen.latest_reading).toBeNull();
    expect(frozen.excursions).toEqual({ open: 0, unresolved: 0, total: 0 });
    expect(frozen.limits).toEqual({
      source: 'CARGO_CLASS',
      profile: 'FROZEN',
      label: '냉동',
      label_en: 'Frozen',
      min_c: null,
      max_c: -18,
      critical_min_c: null,
      critical_max_c: -15,
    });

    for (const id of [dispatchId, plain.body.id]) await uvis.api.request('POST', `/api/v1/dispatches/${id}/cancel`, { token: dispatcher, json: {} });
  });

  it('queues gives waiting, active, failed and delayed per queue', async () => {
    const res = await uvis.api.get('/api/v1/dashboard/queues', dispatcher);
    expect(res.body.queues.map((q: any) => q.name)).toEqual(expect.arrayContaining(['dispatches', 'locations', 'orders']));
    for (const q of res.body.queues) {
      expect(q).toMatchObject({
        waiting: expect.any(Number),
        active: expect.any(Number),
        failed: expect.any(Number),
        delayed: expect.any(Number),
        paused: false,
      });
    }
  });
});

describe('live event stream', () => {
  it('is an uncached event stream under the global security headers', async () => {
    const stream = await openStream(`${uvis.baseUrl}/api/v1/dashboard/events`, dispatcher);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.res.headers.get('cache-control')).toBe('no-store, no-transform');
    expect(stream.res.headers.get('x-accel-buffering')).toBe('no');
    expect(stream.res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const hello = await stream.next('hello');
    expect(hello.data).toMatchObject({ heartbeat_ms: expect.any(Number), server_time: expect.any(String) });
    await stream.close();
  });

  it('delivers dispatch, order and position events published by the workers, and queue counts', async () => {
    const stream = await openStream(`${uvis.baseUrl}/api/v1/dashboard/events`, dispatcher);
    await stream.next('hello');
    const order = await createOrder(uvis.api, dispatcher);
    const created = await assign(uvis.api, dispatcher, order.id, 4, 4);
    expect(created.status, created.text).toBe(201);
    const assigned = await stream.next('dispatch', (d) => d.dispatch_id === created.body.id);
    expect(assigned.data).toMatchObject({ type: 'dispatch', order_id: order.id, driver_id: 4, vehicle_id: 4, from: null, to: 'ASSIGNED' });
    await stream.next('order', (d) => d.order_id === order.id && d.status === 'ASSIGNED');

    const queues = await stream.next('queues');
    expect(queues.data.queues.map((q: any) => q.name)).toEqual(expect.arrayContaining(['dispatches', 'locations', 'orders']));

    await uvis.api.post('/api/v1/mobile/location', { latitude: 36.35, longitude: 127.38 }, driver2);
    const positions = await stream.next('positions', (d) => d.positions.some((p: any) => p.driver_id === 2 && p.latitude === 36.35));
    expect(positions.data.positions[0]).toMatchObject({ longitude: 127.38, recorded_at: expect.any(String) });
    await stream.close();
  });

  it('reaches a browser connected to another API replica (Redis pub/sub, no sticky sessions)', async () => {
    const replica = await startTestUvis({ role: 'api', database: uvis.database, prefix: uvis.config.redisPrefix });
    try {
      const token = await replica.api.login(DEMO_DISPATCHER);
      const stream = await openStream(`${replica.baseUrl}/api/v1/dashboard/events`, token);
      await stream.next('hello');
      // The change goes through the first process, whose workers publish the event.
      const order = await createOrder(uvis.api, dispatcher);
      const created = await assign(uvis.api, dispatcher, order.id, 5, 5);
      expect(created.status, created.text).toBe(201);
      await stream.next('dispatch', (d) => d.dispatch_id === created.body.id && d.to === 'ASSIGNED');

      // Shutting the replica down ends its streams first (the page reconnects elsewhere) and does not wait on them.
      const errors = await replica.running.shutdown.run('test');
      expect(errors).toEqual([]);
      await stream.next('bye', (d) => d.reason === 'draining');
      await waitFor(async () => stream.ended, { what: 'the stream to end' });
    } finally {
      await replica.stop({ keepData: true });
    }
  });
});

describe('live hub rules', () => {
  // A hub on its own HTTP server, with short intervals, to see expiry, revocation and draining without long waits.
  let server: Server;
  let url: string;
  let hub: LiveHub;
  let allowed = true;
  let draining = false;
  let expiresAt = Date.now() + 60_000;
  let waitingOrders = 0;
  let queueReads = 0;
  const prefix = newPrefix();
  const publisher = createRedis(baseUrls(), 'worker', { commandTimeoutMs: 2000 });

  beforeAll(async () => {
    hub = new LiveHub({
      channel: liveChannel(prefix),
      connect: () => createRedis(baseUrls(), 'worker', { commandTimeoutMs: 2000 }),
      log: createLogger({ level: 'silent' }),
      readQueueCounts: async () => {
        queueReads += 1;
        return { queues: [{ name: 'orders', waiting: waitingOrders }] };
      },
      isDraining: () => draining,
      subscribeTimeoutMs: 2000,
      heartbeatMs: 100,
      tickMs: 50,
      queueIntervalMs: 100,
      maxStreamsPerUser: 3,
    });
    let anonymous = 1_000_000;
    server = createServer((req, res) => {
      // ?user=N names the account; without it every stream is its own.
      const userId = Number(new URL(req.url!, 'http://hub').searchParams.get('user') ?? anonymous++);
      hub
        .open(res, { userId, expiresAt, stillAllowed: async () => allowed })
        .catch((err: Error & { status?: number }) => res.writeHead(err.status ?? 503).end(err.message));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    hub.closeAll('test finished');
    await new Promise((resolve) => server.close(resolve));
    publisher.disconnect();
  });

  it('forwards the workers’ event types only, and sends heartbeats', async () => {
    const stream = await openStream(url);
    await stream.next('hello');
    await publisher.publish(liveChannel(prefix), JSON.stringify({ type: 'backup', secret: 1 }));
    await publisher.publish(liveChannel(prefix), 'not json');
    await publisher.publish(liveChannel(prefix), JSON.stringify({ type: 'order', order_id: 7, status: 'PENDING', at: new Date().toISOString() }));
    await stream.next('order', (d) => d.order_id === 7);
    // Temperature excursions (use-cases/excursions.ts publishes them) are forwarded too.
    await publisher.publish(liveChannel(prefix), JSON.stringify({ type: 'excursion', excursion_id: 9, dispatch_id: 3, status: 'OPEN', severity: 'CRITICAL' }));
    expect((await stream.next('excursion', (d) => d.excursion_id === 9)).data).toMatchObject({ dispatch_id: 3, status: 'OPEN', severity: 'CRITICAL' });
    // And a dispatch's latest temperature (jobs/temperature-events.ts).
    await publisher.publish(liveChannel(prefix), JSON.stringify({ type: 'temperature', dispatch_id: 4, temperature_c: 0, in_range: true }));
    expect((await stream.next('temperature', (d) => d.dispatch_id === 4)).data).toMatchObject({ temperature_c: 0, in_range: true });
    expect(stream.events.map((e) => e.event)).not.toContain('backup');
    await stream.next('queues');
    // Counts are read every 100 ms here but sent only when they change: let several more
    // reads of the same counts happen (counted, not timed), and still only one was sent.
    const reads = queueReads;
    await waitFor(async () => queueReads >= reads + 4, { what: 'four more queue-count reads' });
    expect(stream.events.filter((e) => e.event === 'queues')).toHaveLength(1);
    waitingOrders = 3;
    expect((await stream.next('queues', (d) => d.queues[0].waiting === 3)).data.at).toEqual(expect.any(String));
    await stream.close();
    // The last stream gone, the hub lets go of its subscription.
    await waitFor(async () => hub.streamCount === 0, { what: 'the hub to drop the stream' });
  });

  it('lets one account hold a few streams, not every slot of the replica', async () => {
    const mine = [await openStream(`${url}?user=42`), await openStream(`${url}?user=42`), await openStream(`${url}?user=42`)];
    for (const stream of mine) await stream.next('hello');
    const fourth = await openStream(`${url}?user=42`);
    expect(fourth.res.status).toBe(429);
    // Another account is not affected, and a closed tab frees its slot.
    const other = await openStream(`${url}?user=43`);
    await other.next('hello');
    await mine[0]!.close();
    await waitFor(
      async () => {
        const again = await openStream(`${url}?user=42`);
        if (again.res.status !== 200) return undefined;
        mine.push(again);
        return true;
      },
      { what: 'a freed slot' },
    );
    for (const stream of [...mine.slice(1), other]) await stream.close();
  });

  it('ends a stream when its token expires or its session is revoked', async () => {
    expiresAt = Date.now() + 300;
    const expiring = await openStream(url);
    expect((await expiring.next('bye')).data.reason).toBe('token_expired');
    await waitFor(async () => expiring.ended, { what: 'the expired stream to end' });

    expiresAt = Date.now() + 60_000;
    const revoked = await openStream(url);
    await revoked.next('hello');
    allowed = false;
    expect((await revoked.next('bye')).data.reason).toBe('session_ended');
    allowed = true;
  });

  it('ends every stream when the process drains, and refuses new ones', async () => {
    const stream = await openStream(url);
    await stream.next('hello');
    draining = true;
    try {
      expect((await stream.next('bye')).data.reason).toBe('draining');
      const refused = await fetch(url);
      expect(refused.status).toBe(503);
    } finally {
      draining = false;
    }
  });
});

describe('serving the built page', () => {
  let dir: string;
  let base: string;
  let server: Server;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'uvis-dash-'));
    const app = express();
    app.use('/dashboard', dashboardRouter(dir));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('says clearly when the build is missing', async () => {
    const res = await fetch(`${base}/dashboard/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:dashboard');
  });

  it('serves index.html revalidated on every load and fingerprinted assets for a year', async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'export {};');
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/index.html']) {
      const page = await fetch(`${base}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.headers.get('content-type')).toContain('text/html');
    }
    const asset = await fetch(`${base}/dashboard/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${base}/dashboard/assets/missing.js`)).status).toBe(404);
  });

  it('is mounted on the app at /dashboard with the global CSP', async () => {
    const res = await fetch(`${uvis.baseUrl}/dashboard/`);
    // 200 once built, 503 with the build hint before: either way, under the strict policy.
    expect([200, 503]).toContain(res.status);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});
