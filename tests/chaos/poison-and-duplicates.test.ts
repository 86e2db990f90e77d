/**
 * Scenario 5: a poison job (a payload that can never succeed) fails without retries,
 * lands in the failed set with its reason and does not block the queue.
 * Scenario 6: the same job processed twice (as after a lost lock) leaves the same
 * data as processing it once.
 */
import type { Job } from 'bullmq';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { queuePrefix, type QueueName } from '../../jobs/index.js';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/knex.js';
import type { WorkerDeps } from '../../jobs/define.js';
import { queueDefinition } from '../../jobs/index.js';
import { ApiClient, DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { report, storedPoints } from '../helpers/chaos.js';
import { baseUrls, createTestDatabase } from '../helpers/databases.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { startUvisProcess } from '../helpers/uvis-process.js';
import { deleteRedisPrefix, newPrefix, startTestUvis } from '../helpers/uvis.js';
import { useScratch } from '../helpers/scratch.js';

// Stopped and removed after the file, in reverse order, a failing cleanup not stopping the others.
const { cleanups } = useScratch();

describe('poison jobs', () => {
  it('fail at once with their reason, and the queue keeps flowing', async () => {
    const database = await createTestDatabase();
    const prefix = newPrefix();
    cleanups.push(
      () => database.drop(),
      () => deleteRedisPrefix(prefix),
    );
    const env = { DATABASE_URL: database.url, REDIS_PREFIX: prefix };
    const api = await startUvisProcess('api', env);
    const worker = await startUvisProcess('worker', env);
    cleanups.push(
      () => api.stop(),
      () => worker.stop(),
    );
    // An old or broken producer writes payloads the current code can never process.
    const connection = new Redis(baseUrls().redisUrl, { maxRetriesPerRequest: null });
    const queues = Object.fromEntries(
      ['locations', 'dispatches', 'orders'].map((n) => [n, new Queue(n, { connection, prefix: queuePrefix(prefix, n as QueueName) })]),
    );
    cleanups.push(async () => {
      for (const q of Object.values(queues)) await q.close();
      connection.disconnect();
    });
    const poison: Job[] = [
      await queues.locations!.add('points', { driverId: 1, points: 'not-a-list' }, { attempts: 12 }),
      await queues.dispatches!.add('dispatch.status_changed', { dispatchId: -1 }, { attempts: 8 }),
      await queues.orders!.add('order.renamed', { orderId: 1 }, { attempts: 8 }),
    ];
    // Ordinary work right behind them.
    const client = new ApiClient(api.url);
    const driver = await client.login();
    const dispatcher = await client.login(DEMO_DISPATCHER);
    const posts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.post('/api/v1/mobile/location', { latitude: 34 + i / 100, longitude: 128 }, driver)),
    );
    const order = await client.post(
      '/api/v1/orders',
      { client_id: 1, pickup_address: '대구광역시 중구 1', delivery_address: '경상북도 포항시 1', cargo_type: '상온', weight: 10 },
      dispatcher,
    );
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 10_000 });
    cleanups.push(() => db.destroy());
    await waitFor(async () => (await storedPoints(db, [1])).rows === 20 && (await db('orders').where({ id: order.body.id }).first()).distance_km !== null, {
      what: 'ordinary work',
    });
    const failed = await Promise.all(
      poison.map(async (job) => {
        const queue = queues[job.queueName]!;
        await waitFor(async () => (await queue.getJobState(job.id!)) === 'failed', { what: `poison ${job.queueName}` });
        return (await queue.getJob(job.id!))!;
      }),
    );
    for (const job of failed) {
      expect(job.attemptsMade).toBe(1);
      expect(job.failedReason).toMatch(/invalid payload|unknown job name/);
      expect((await queues[job.queueName]!.getFailed()).map((j) => j.id)).toContain(job.id);
    }
    report('poison jobs', {
      injected: 'three payloads that can never succeed (attempts 8 to 12)',
      ordinaryPosts: posts.length,
      pointsStored: 20,
      poisonAttempts: failed.map((j) => j.attemptsMade),
      reasons: failed.map((j) => j.failedReason),
    });
  });
});

describe('duplicate delivery', () => {
  it('processing the same job twice, one after the other and at once, leaves the same data as once', async () => {
    const uvis = await startTestUvis({ role: 'api' });
    cleanups.push(() => uvis.stop());
    const { db } = uvis.running.deps;
    const deps = uvis.running.deps as unknown as WorkerDeps;
    const client = uvis.api;
    const dispatcher = await client.login(DEMO_DISPATCHER);
    const order = (
      await client.post(
        '/api/v1/orders',
        { client_id: 1, pickup_address: '경기도 수원시 1', delivery_address: '충청남도 천안시 1', cargo_type: '냉장', weight: 1 },
        dispatcher,
      )
    ).body;
    const dispatch = (await client.post('/api/v1/dispatches', { order_id: order.id, vehicle_id: 4, driver_id: 4 }, dispatcher)).body;
    const event = await db('outbox').where({ queue: 'dispatches' }).orderBy('id', 'desc').first();

    // Jobs as BullMQ would hand them to a worker: same id, same data, delivered twice.
    const jobs = {
      locations: {
        id: 'dup-locations-1',
        name: 'points',
        data: { driverId: 4, receivedAt: new Date().toISOString(), points: Array.from({ length: 50 }, (_, i) => ({ lat: 36 + i / 1000, lng: 127 })) },
      },
      dispatches: { id: `ob-${event.job_key}`, name: 'dispatch.status_changed', data: { ...event.payload, eventId: event.id, eventKey: event.job_key } },
      orders: { id: 'dup-orders-1', name: 'order.changed', data: { eventId: 999_001, orderId: order.id, change: 'created' } },
    } as const;
    const run = async (queue: keyof typeof jobs) => {
      const definition = queueDefinition(queue);
      const processor = definition.createProcessor(deps);
      const job = jobs[queue];
      const handler = processor.handlers[job.name]!;
      await handler(definition.jobs[job.name]!.parse(job.data), { job: { ...job, attemptsMade: 0 } as unknown as Job, log: deps.log });
      await processor.close?.();
    };
    for (const queue of Object.keys(jobs) as (keyof typeof jobs)[]) await run(queue);
    const once = await databaseFingerprint(db);
    for (const queue of Object.keys(jobs) as (keyof typeof jobs)[]) await run(queue);
    await Promise.all((Object.keys(jobs) as (keyof typeof jobs)[]).flatMap((q) => [run(q), run(q)]));
    const thrice = await databaseFingerprint(db);
    // driver_positions.updated_at moves on a re-write of the same newest point; everything else must be identical.
    const { driver_positions: _moved, ...stable } = thrice;
    const { driver_positions: _before, ...stableOnce } = once;
    expect(stable).toEqual(stableOnce);
    expect((await storedPoints(db, [4])).rows).toBe(50);
    expect(await db('dispatch_status_history').where({ dispatch_id: dispatch.id })).toHaveLength(1);
    report('duplicate delivery', {
      injected: 'each job of three queues processed 4 times (2 sequential, 2 concurrent)',
      points: 50,
      historyRows: 1,
      changedTables: Object.keys(stable).filter((t) => stable[t] !== stableOnce[t]),
    });
  });
});
