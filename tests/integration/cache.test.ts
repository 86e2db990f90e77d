/** Cached answers (driver summary, order counts) are fresh after every kind of write that affects them. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../lib/cache.js';
import { createLogger } from '../../lib/logger.js';
import { closeRedis } from '../../lib/redis.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { deleteRedisPrefix, newPrefix, startTestUvis, testRedis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;

beforeAll(async () => {
  // API only: freshness must not depend on the workers' follow-up invalidation.
  uvis = await startTestUvis({ role: 'api' });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

describe('driver summary cache', () => {
  it('is fresh after an assignment, each status change, and a cancellation', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const summary = async () => (await uvis.api.get('/api/v1/mobile/summary', driver.token)).body;
    expect(await summary()).toMatchObject({ active: 0, assigned_today: 0, completed_today: 0 });
    const vehicle = await createVehicle(uvis.api, admin);
    const first = (await assign(uvis.api, dispatcher, (await createOrder(uvis.api, dispatcher)).id, vehicle.id, driver.driverId)).body;
    expect(await summary()).toMatchObject({ active: 1, assigned_today: 1 });
    await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${first.id}/status`, { json: { status: 'COMPLETED' }, token: driver.token });
    expect(await summary()).toMatchObject({ active: 0, completed_today: 1 });
    const second = (await assign(uvis.api, dispatcher, (await createOrder(uvis.api, dispatcher)).id, vehicle.id, driver.driverId)).body;
    expect(await summary()).toMatchObject({ active: 1, assigned_today: 2 });
    await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${second.id}/status`, { json: { status: 'FAILED' }, token: driver.token });
    expect(await summary()).toMatchObject({ active: 0, failed_today: 1 });
    const third = (await assign(uvis.api, dispatcher, (await createOrder(uvis.api, dispatcher)).id, vehicle.id, driver.driverId)).body;
    expect(await summary()).toMatchObject({ active: 1 });
    await uvis.api.post(`/api/v1/dispatches/${third.id}/cancel`, {}, dispatcher);
    expect(await summary()).toMatchObject({ active: 0, cancelled_today: 1 });
  });
});

describe('order counts cache', () => {
  it('is fresh after creation, assignment, driver progress and cancellation', async () => {
    const counts = async () => (await uvis.api.get('/api/v1/orders/stats', dispatcher)).body as Record<string, number>;
    const start = await counts();
    const n = (c: Record<string, number>, s: string) => c[s] ?? 0;
    const order = await createOrder(uvis.api, dispatcher);
    let now = await counts();
    expect(n(now, 'PENDING')).toBe(n(start, 'PENDING') + 1);
    const driver = await createDriverAccount(uvis.api, admin);
    const dispatch = (await assign(uvis.api, dispatcher, order.id, (await createVehicle(uvis.api, admin)).id, driver.driverId)).body;
    now = await counts();
    expect([n(now, 'PENDING'), n(now, 'ASSIGNED')]).toEqual([n(start, 'PENDING'), n(start, 'ASSIGNED') + 1]);
    await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatch.id}/status`, { json: { status: 'PICKED_UP' }, token: driver.token });
    now = await counts();
    expect(n(now, 'IN_TRANSIT')).toBe(n(start, 'IN_TRANSIT') + 1);
    const other = await createOrder(uvis.api, dispatcher);
    await uvis.api.post(`/api/v1/orders/${other.id}/cancel`, {}, dispatcher);
    now = await counts();
    expect(n(now, 'CANCELLED')).toBe(n(start, 'CANCELLED') + 1);
  });
});

describe('cache generations', () => {
  it('a value computed before an invalidation is never served after it', async () => {
    const prefix = newPrefix();
    const redis = testRedis();
    const cache = new Cache(redis, prefix, createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) }));
    try {
      let source = 'old';
      let release!: () => void;
      let started!: () => void;
      const loadStarted = new Promise<void>((r) => (started = r));
      // A slow reader loads the old value...
      const slow = cache.getOrLoad('item', 60, async () => {
        const value = source;
        started();
        await new Promise<void>((r) => (release = r));
        return value;
      });
      await loadStarted;
      // ...while a writer changes the data and invalidates.
      source = 'new';
      await cache.invalidate('item');
      release();
      expect(await slow).toBe('old');
      // Its write is fire-and-forget: wait until the stale value is in Redis.
      await waitFor(async () => ((await redis.get(`${prefix}:cache:{item}:val`))?.includes('"old"') ? true : undefined), { what: 'the stale write' });
      // The stale value it wrote carries the old generation: the next read loads again.
      expect(await cache.getOrLoad('item', 60, async () => source)).toBe('new');
      expect(await cache.getOrLoad('item', 60, async () => 'would be a miss')).toBe('new');
    } finally {
      await closeRedis(redis);
      await deleteRedisPrefix(prefix);
    }
  });
});
