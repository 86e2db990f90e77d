/**
 * REDIS_WAIT_REPLICAS on one Redis with one replica (two real redis-server processes): the API
 * answers 202 only once the replica holds the job, refuses with 503 while the replica is away
 * (the job may be on the primary: the retry with the same Idempotency-Key is the same job), and the
 * outbox relay marks a row published only once the replica holds its job. Then, at start-up, a
 * worker that finds jobs under the queue layout of an earlier release says so.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/api-client.js';
import { createDriverAccount, createOrder } from '../helpers/fixtures.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { useScratch } from '../helpers/scratch.js';
import { newPrefix, startTestUvis, type TestUvis } from '../helpers/uvis.js';

const scratch = useScratch();
let primary: PrivateRedis;
let replica: PrivateRedis;
let uvis: TestUvis;
let admin: string;

const replicaInSync = () =>
  waitFor(
    async () => {
      const redis = new Redis(replica.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        return /master_link_status:up/.test(await redis.info('replication')) ? true : undefined;
      } finally {
        redis.disconnect();
      }
    },
    { what: 'the replica in sync' },
  );

beforeAll(async () => {
  primary = await startPrivateRedis();
  replica = await startPrivateRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
  scratch.cleanups.push(
    () => primary.destroy(),
    () => replica.destroy(),
  );
  await replicaInSync();
  uvis = await startTestUvis({ env: { REDIS_URL: primary.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300' } });
  scratch.cleanups.push(() => uvis.stop());
  admin = await uvis.api.login();
});

const storedFor = async (driverId: number) => (await uvis.running.deps.db('vehicle_locations').where('driver_id', driverId)).length;

describe('replica-acknowledged intake (REDIS_WAIT_REPLICAS=1)', () => {
  it('answers 202 with the replica in sync, 503 while it is away, and the retry after it is back stores the points once', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const post = (key: string, longitude: number) =>
      uvis.api.request('POST', '/api/v1/mobile/locations', {
        json: { points: [{ latitude: 37.5, longitude, point_id: key }] },
        token: driver.token,
        headers: { 'Idempotency-Key': key },
      });
    expect((await post('first', 127)).status).toBe(202);

    await replica.stop();
    const refused = await post('second', 127.001);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.error.message).toMatch(/only 0 of 1 Redis replicas/);

    await replica.start();
    await replicaInSync();
    const retried = await post('second', 127.001);
    expect(retried.status).toBe(202);
    await waitFor(async () => ((await storedFor(driver.driverId)) === 2 ? true : undefined), { what: 'both points stored' });
    // The refused post's job had reached the primary: the retry was the same job, nothing twice.
    await new Promise((r) => setTimeout(r, 500));
    expect(await storedFor(driver.driverId)).toBe(2);
  });

  it('keeps an outbox row unpublished until the replica holds its job', async () => {
    const { db } = uvis.running.deps;
    const { max } = (await db('outbox').max('id as max').first()) as { max: number | null };
    await replica.stop();
    await createOrder(uvis.api, admin);
    const rows = () => db('outbox').where('id', '>', Number(max ?? 0));
    const unpublished = () => rows().whereNull('published_at');
    // The relay tried (the order's commit kicked it) and failed its replica wait: the rows are still unpublished.
    await waitFor(async () => ((await rows().whereNotNull('last_error')).length ? true : undefined), { what: 'a failed relay attempt' });
    expect((await unpublished()).length).toBeGreaterThan(0);
    expect((await rows().whereNotNull('last_error').first()).last_error).toMatch(/only 0 of 1 Redis replicas/);
    await replica.start();
    await replicaInSync();
    await waitFor(async () => ((await unpublished()).length === 0 ? true : undefined), { timeoutMs: 20_000, what: 'the row published' });
  });
});

describe('jobs under the queue layout of an earlier release', () => {
  it('are named in an error at worker start-up, with the queues and counts', async () => {
    const prefix = newPrefix();
    const connection = new Redis(primary.url, { maxRetriesPerRequest: null });
    const legacy = new Queue('orders', { connection, prefix: `{${prefix}}` });
    await legacy.add('order.created', { orderId: 1 });
    await legacy.add('order.created', { orderId: 2 });
    const worker = await startTestUvis({ role: 'worker', prefix, env: { REDIS_URL: primary.url } });
    try {
      const line = await waitFor(async () => worker.logs.find((l) => String(l.msg).includes('queue layout of an earlier release')), {
        what: 'the legacy layout error',
      });
      expect(line).toMatchObject({ level: 'error', queues: { orders: 2 } });
    } finally {
      await worker.stop();
      await legacy.obliterate({ force: true });
      await legacy.close();
      connection.disconnect();
    }
  });
});
