/**
 * A GPS post answered 503 may have been stored: the enqueue reached Redis and ran, but
 * its answer did not come back within REDIS_COMMAND_TIMEOUT_MS. A TCP proxy between the
 * API and Redis lets the commands through and holds the replies back; a worker on its own
 * connection to Redis stores what was queued. The retry is what makes this safe.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/api-client.js';
import { baseUrls } from '../helpers/databases.js';
import { createDriverAccount } from '../helpers/fixtures.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let proxy: TcpProxy;
let api: TestUvis;
let worker: TestUvis;
let admin: string;

beforeAll(async () => {
  const redis = new URL(baseUrls().redisUrl);
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  api = await startTestUvis({ role: 'api', env: { REDIS_URL: proxy.url, REDIS_COMMAND_TIMEOUT_MS: '300', RATE_LIMITS: 'off' } });
  // A separate worker of the same deployment, straight to Redis: it stores whatever reached the queue.
  worker = await startTestUvis({ role: 'worker', database: api.database, prefix: api.config.redisPrefix });
  admin = await api.api.login();
});
afterAll(async () => {
  proxy?.release();
  await worker?.stop({ keepData: true });
  await api?.stop();
  await proxy?.close();
});

const storedPoints = async (driverId: number) =>
  worker.running.deps.db('vehicle_locations').where({ driver_id: driverId }).orderBy('id').select('point_key', 'recorded_at');

/** Waits until the locations queue has nothing left to do, and returns its counts. */
async function queueSettled() {
  return waitFor(
    async () => {
      const counts = await worker.running.deps.queues.locations.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
      const busy = ['waiting', 'active', 'delayed', 'prioritized'].reduce((sum, state) => sum + (counts[state] ?? 0), 0);
      return busy === 0 ? { completed: counts.completed ?? 0, failed: counts.failed ?? 0 } : undefined;
    },
    { what: 'the locations queue settled' },
  );
}

/** Posts while the proxy holds back the reply to the enqueue (the command carrying marker): the answer is lost, the job is not. */
async function postLosingTheAnswer(token: string, body: unknown, marker: string, headers: Record<string, string> = {}) {
  proxy.holdRepliesAfter(marker);
  const res = await api.api.post('/api/v1/mobile/locations', body, token, headers);
  expect(proxy.heldBytes()).toBeGreaterThan(0); // the reply existed: Redis ran the command
  return res;
}

describe('a GPS post answered 503 may have been stored', () => {
  it('retried with the same Idempotency-Key, it is the same job: its points are stored once', async () => {
    const driver = await createDriverAccount(api.api, admin);
    const tag = randomBytes(4).toString('hex');
    const N = 5;
    const body = { points: Array.from({ length: N }, (_, i) => ({ latitude: 37.5 + i / 1e3, longitude: 127, point_id: `${tag}-${i}` })) };
    const headers = { 'Idempotency-Key': `buffer-${tag}` };

    const first = await postLosingTheAnswer(driver.token, body, `${tag}-0`, headers);
    expect(first.status, first.text).toBe(503);
    expect(first.body.error.code).toBe('service_unavailable');
    // Stored all the same: the add ran in Redis and the worker took the job.
    await waitFor(async () => (await storedPoints(driver.driverId)).length === N, { what: `${N} points stored after the 503` });

    proxy.release();
    const retry = await api.api.post('/api/v1/mobile/locations', body, driver.token, headers);
    expect(retry.status, retry.text).toBe(202);
    const counts = await queueSettled();
    // The retry added the job id the first post had added: BullMQ kept the one job, and nothing was stored again.
    expect(counts).toMatchObject({ completed: 1, failed: 0 });
    expect(await worker.running.deps.queues.locations.getJob(retry.body.job_id)).toBeDefined();
    expect((await storedPoints(driver.driverId)).map((p) => p.point_key)).toEqual(body.points.map((p) => `k:${p.point_id}`));
  });

  it('retried without a key, it is a second job: points with a point_id or recorded_at are stored once, a point with neither twice', async () => {
    const driver = await createDriverAccount(api.api, admin);
    const before = (await queueSettled()).completed;
    const tag = randomBytes(4).toString('hex');
    const fixedAt = new Date(Date.now() - 60_000).toISOString();
    const body = {
      points: [
        { latitude: 37.5, longitude: 127, point_id: `${tag}-id` },
        { latitude: 37.6, longitude: 127, recorded_at: fixedAt },
        { latitude: 37.7, longitude: 127 },
      ],
    };

    const first = await postLosingTheAnswer(driver.token, body, `${tag}-id`);
    expect(first.status, first.text).toBe(503);
    await waitFor(async () => (await storedPoints(driver.driverId)).length === 3, { what: '3 points stored after the 503' });

    proxy.release();
    const retry = await api.api.post('/api/v1/mobile/locations', body, driver.token);
    expect(retry.status, retry.text).toBe(202);
    expect((await queueSettled()).completed).toBe(before + 2);
    const stored = await storedPoints(driver.driverId);
    expect(stored.map((p) => p.point_key.slice(0, 2)).sort()).toEqual(['j:', 'j:', 'k:', 't:']);
    // The point without an identity got the API's receipt time, once per post: two rows, two times.
    const twice = stored.filter((p) => p.point_key.startsWith('j:'));
    expect(new Set(twice.map((p) => p.recorded_at.getTime())).size).toBe(2);
  });
});
