/**
 * Scenario 2: Redis stops for a while and comes back (append-only, fsync every
 * second). Queue-bound requests get a quick 503 while it is away, readiness says
 * 503, everything acknowledged before the stop is processed after it, and writes
 * committed in PostgreSQL during the outage reach their queues through the outbox.
 */
import { Queue } from 'bullmq';
import { queuePrefix } from '../../jobs/index.js';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/knex.js';
import { ApiClient, DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { countRows, driverTokens, report, storedPoints } from '../helpers/chaos.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startPrivateRedis } from '../helpers/private-redis.js';
import { startUvisProcess } from '../helpers/uvis-process.js';
import { newPrefix } from '../helpers/uvis.js';
import { useScratch } from '../helpers/scratch.js';

// Stopped and removed after the file, in reverse order, a failing cleanup not stopping the others.
const { cleanups } = useScratch();

describe('Redis outage', () => {
  it('answers 503 quickly while Redis is away and loses nothing acknowledged or committed', async () => {
    const redis = await startPrivateRedis();
    const database = await createTestDatabase();
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 30_000 });
    cleanups.push(
      () => redis.destroy(),
      () => database.drop(),
      () => db.destroy(),
    );
    const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, REDIS_PREFIX: newPrefix(), REDIS_COMMAND_TIMEOUT_MS: '500', OUTBOX_POLL_MS: '250' };
    const api = await startUvisProcess('api', env);
    cleanups.push(() => api.stop());
    const client = new ApiClient(api.url);
    const dispatcher = await client.login(DEMO_DISPATCHER);
    const drivers = await driverTokens(db, client, 5);
    const ids = drivers.map((d) => d.driverId);

    // Acknowledged before the stop, with no worker running: the jobs wait in Redis.
    let acknowledged = 0;
    for (const { token } of drivers) {
      for (let i = 0; i < 10; i++) {
        const res = await client.post(
          '/api/v1/mobile/locations',
          { points: Array.from({ length: 20 }, (_, j) => ({ latitude: 36, longitude: 127 + (i * 20 + j) / 1e4 })) },
          token,
        );
        expect(res.status).toBe(202);
        acknowledged += 20;
      }
    }
    // Deliberately a fixed wait, not a poll: Redis acknowledged our writes in memory and
    // appendfsync everysec makes them durable within a second; nothing observable says when.
    await new Promise((r) => setTimeout(r, 1100));
    await redis.stop();

    const outage = { refused: 0, slowest: 0 };
    for (let i = 0; i < 20; i++) {
      const started = Date.now();
      const res = await client.post('/api/v1/mobile/location', { latitude: 37, longitude: 127 }, drivers[i % drivers.length]!.token);
      outage.slowest = Math.max(outage.slowest, Date.now() - started);
      expect(res.status).toBe(503);
      expect(res.body.error.details.dependency).toBe('queue');
      outage.refused++;
    }
    const ready = await client.get('/api/v1/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis).toBe('down');
    // Orders committed in PostgreSQL while Redis is down.
    const committed: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await client.post(
        '/api/v1/orders',
        { client_id: 1, pickup_address: '광주광역시 서구 1', delivery_address: '울산광역시 남구 1', cargo_type: '냉동', weight: 5 },
        dispatcher,
      );
      expect(res.status).toBe(201);
      committed.push(res.body.id);
    }
    const pendingOutbox = await countRows(db, 'outbox', (q) => q.whereNull('published_at'));
    expect(pendingOutbox).toBeGreaterThanOrEqual(5);

    await redis.start();
    const worker = await startUvisProcess('worker', env);
    cleanups.push(() => worker.stop());
    await waitFor(async () => (await storedPoints(db, ids)).rows >= acknowledged, { timeoutMs: 60_000, intervalMs: 500, what: 'acknowledged points' });
    await waitFor(async () => (await countRows(db, 'orders', (q) => q.whereIn('id', committed).whereNotNull('distance_km'))) === committed.length, {
      timeoutMs: 30_000,
      what: 'outbox jobs of the orders committed during the outage',
    });
    expect(await countRows(db, 'outbox', (q) => q.whereNull('published_at'))).toBe(0);
    expect((await client.get('/api/v1/health/ready')).status).toBe(200);
    const afterRecovery = await client.post('/api/v1/mobile/location', { latitude: 37, longitude: 127 }, drivers[0]!.token);
    expect(afterRecovery.status).toBe(202);
    acknowledged += 1;
    // Everything accepted is counted before the final count: the point accepted just now
    // may still be on its way, so wait for it rather than race it ...
    await waitFor(async () => (await storedPoints(db, ids)).rows >= acknowledged, { timeoutMs: 30_000, what: 'the point accepted after recovery' });
    // ... and for the locations queue to be idle, so nothing else is still on its way
    // (the 503s of the outage must not have queued anything).
    const queue = new Queue('locations', { connection: { host: '127.0.0.1', port: redis.port }, prefix: queuePrefix(env.REDIS_PREFIX, 'locations') });
    cleanups.push(() => queue.close());
    await waitFor(
      async () => {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        return Object.values(c).every((n) => n === 0) ? c : undefined;
      },
      { timeoutMs: 30_000, what: 'the locations queue to be idle' },
    );
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
    const stored = await storedPoints(db, ids);
    report('Redis outage', {
      injected: 'SIGTERM of Redis (AOF everysec), restart',
      acknowledged,
      storedAfter: stored.rows,
      refusedDuringOutage: outage.refused,
      slowestRefusalMs: outage.slowest,
      ordersCommittedDuringOutage: committed.length,
      outboxPendingAtRestart: pendingOutbox,
    });
    // Exactly what was accepted: nothing lost, nothing extra, nothing twice.
    expect(stored).toEqual({ rows: acknowledged, distinct: acknowledged });
    expect(outage.slowest).toBeLessThan(1500);
  });
});
