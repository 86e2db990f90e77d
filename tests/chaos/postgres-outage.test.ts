/**
 * Scenario 3: PostgreSQL stops for a while and comes back. Jobs fail, retry with
 * backoff and complete after recovery; the API answers 503 with a clear error for
 * requests that need the database and recovers by itself, without a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queuePrefix } from '../../jobs/index.js';
import { describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadDemoData } from '../../db/demo-data.js';
import { ensureDatabase } from '../../db/ensure-database.js';
import { createDb } from '../../db/knex.js';
import { migrateLatest } from '../../db/migrate.js';
import { ensurePostgres, stopPostgres } from '../../lib/local-services.js';
import { ApiClient, DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { report, storedPoints } from '../helpers/chaos.js';
import { baseUrls } from '../helpers/databases.js';
import { freePort } from '../helpers/private-redis.js';
import { startUvisProcess } from '../helpers/uvis-process.js';
import { deleteRedisPrefix, newPrefix } from '../helpers/uvis.js';
import { useScratch } from '../helpers/scratch.js';

// Stopped and removed after the file, in reverse order, a failing cleanup not stopping the others.
const { cleanups } = useScratch();

describe('PostgreSQL outage', () => {
  it('jobs retry until the database is back; the API answers 503 meanwhile and recovers on its own', async () => {
    const root = mkdtempSync(join(tmpdir(), 'uvis-pg-chaos-'));
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/uvis_chaos`;
    await ensurePostgres(url, root);
    cleanups.push(async () => {
      try {
        stopPostgres(url, root);
      } catch {
        // already stopped
      }
      rmSync(root, { recursive: true, force: true });
    });
    await ensureDatabase(url);
    const setup = createDb({ url, poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000 });
    await migrateLatest(setup);
    await loadDemoData(setup);
    await setup.destroy();
    const prefix = newPrefix();
    cleanups.push(() => deleteRedisPrefix(prefix));
    const env = { DATABASE_URL: url, REDIS_PREFIX: prefix };
    const api = await startUvisProcess('api', env);
    const worker = await startUvisProcess('worker', env);
    cleanups.push(
      () => api.stop(),
      () => worker.stop(),
    );
    const client = new ApiClient(api.url);
    const driver = await client.login();
    const dispatcher = await client.login(DEMO_DISPATCHER);
    expect((await client.get('/api/v1/orders?limit=1', dispatcher)).status).toBe(200);
    // A phone that has been posting: its session is known to the API.
    expect((await client.post('/api/v1/mobile/location', { latitude: 33.4, longitude: 126.4 }, driver)).status).toBe(202);
    await waitFor(async () => (await client.get('/api/v1/health/ready')).status === 200, { what: 'ready' });

    stopPostgres(url, root);
    // GPS posts need only the (cached) session and Redis: accepted; their jobs cannot be stored yet.
    const jobIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await client.post(
        '/api/v1/mobile/locations',
        { points: Array.from({ length: 10 }, (_, j) => ({ latitude: 33.5, longitude: 126.5 + (i * 10 + j) / 1e4 })) },
        driver,
      );
      expect(res.status).toBe(202);
      jobIds.push(res.body.job_id);
    }
    const started = Date.now();
    const down = await client.get('/api/v1/orders?limit=1', dispatcher);
    const refusalMs = Date.now() - started;
    expect(down.status).toBe(503);
    expect(down.body.error).toMatchObject({ code: 'service_unavailable', details: { dependency: 'database' } });
    expect((await client.get('/api/v1/health/ready')).body.checks.database).toBe('down');

    // The worker's attempts fail and back off (exponential, from 500 ms).
    const queue = new Queue('locations', {
      connection: new Redis(baseUrls().redisUrl, { maxRetriesPerRequest: null }),
      prefix: queuePrefix(prefix, 'locations'),
    });
    cleanups.push(() => queue.close());
    const retried = await waitFor(
      async () => {
        const jobs = await Promise.all(jobIds.map((id) => queue.getJob(id)));
        const attempts = jobs.map((j) => j?.attemptsMade ?? 0);
        return attempts.every((a) => a >= 2) ? attempts : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'retries with backoff' },
    );
    const states = await Promise.all(jobIds.map((id) => queue.getJobState(id)));
    expect(states.every((s) => s === 'delayed' || s === 'waiting' || s === 'active')).toBe(true);

    await ensurePostgres(url, root);
    await waitFor(async () => (await client.get('/api/v1/orders?limit=1', dispatcher)).status === 200, { timeoutMs: 20_000, what: 'the API to recover' });
    await waitFor(async () => (await Promise.all(jobIds.map((id) => queue.getJobState(id)))).every((s) => s === 'completed'), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'jobs to complete',
    });
    const check = createDb({ url, poolMin: 0, poolMax: 1, statementTimeoutMs: 10_000 });
    const stored = await storedPoints(check, [1]);
    await check.destroy();
    expect((await client.get('/api/v1/health/ready')).status).toBe(200);
    report('PostgreSQL outage', {
      injected: 'pg_ctl stop -m fast, then start',
      jobsQueuedDuringOutage: jobIds.length,
      attemptsBeforeRecovery: retried,
      apiRefusalMs: refusalMs,
      pointsStored: stored.rows,
    });
    expect(stored).toEqual({ rows: 101, distinct: 101 });
  });
});
