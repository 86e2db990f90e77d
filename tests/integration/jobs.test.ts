/** The job catalogue, payload re-validation in workers, and job status for dispatchers. */
import { Queue, Worker } from 'bullmq';
import { describe, expect, it, afterAll, beforeAll } from 'vitest';
import { z } from 'zod';
import { checkCatalogue, catalogue, queueDefinition } from '../../jobs/index.js';
import { jobWithState } from '../../jobs/job-status.js';
import { CAPPED_BACKOFF, MAX_BACKOFF_MS, cappedBackoff, type WorkerDeps } from '../../jobs/define.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { assign, createOrder } from '../helpers/fixtures.js';
import { startTestUvis, testRedis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
});
afterAll(async () => {
  await uvis?.stop();
});

describe('job catalogue', () => {
  it('gives every job exactly one handler, checked at start-up', () => {
    const processors = checkCatalogue(uvis.running.deps as unknown as WorkerDeps);
    expect([...processors.keys()].sort()).toEqual(Object.keys(catalogue).sort());
  });

  it('refuses to start when a job has no handler or a handler has no job', () => {
    const original = catalogue.orders.jobs;
    try {
      (catalogue.orders as { jobs: Record<string, z.ZodType> }).jobs = { ...original, 'order.archived': z.object({}) };
      expect(() => checkCatalogue(uvis.running.deps as unknown as WorkerDeps, ['orders'])).toThrow(/job order.archived has no handler/);
      (catalogue.orders as { jobs: Record<string, z.ZodType> }).jobs = {};
      expect(() => checkCatalogue(uvis.running.deps as unknown as WorkerDeps, ['orders'])).toThrow(/handler order.changed has no job schema/);
    } finally {
      (catalogue.orders as { jobs: Record<string, z.ZodType> }).jobs = original;
    }
  });
});

describe('job payloads are validated again by the worker', () => {
  it('a payload that can never succeed fails at once, without retries, with its reason', async () => {
    const queue = uvis.running.deps.queues.dispatches;
    const job = await queue.add('dispatch.status_changed', { dispatchId: 'not-a-number' }, { attempts: 5 });
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'failed', { what: 'the poison job to fail' });
    const failed = await queue.getJob(job.id!);
    expect(failed!.attemptsMade).toBe(1);
    expect(failed!.failedReason).toMatch(/invalid payload: .*dispatchId/);
  });
});

describe('job status endpoint', () => {
  it('shows a location job and 404 for an unknown one', async () => {
    const admin = await uvis.api.login();
    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const posted = await uvis.api.post('/api/v1/mobile/location', { latitude: 37.1, longitude: 127.1 }, admin);
    const status = await waitFor(
      async () => {
        const res = await uvis.api.get(`/api/v1/jobs/locations/${posted.body.job_id}`, dispatcher);
        return res.body.state === 'completed' ? res : undefined;
      },
      { what: 'completed job' },
    );
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      id: posted.body.job_id,
      queue: 'locations',
      name: 'points',
      attempts_made: 1,
      result: { points: 1 },
      failed_reason: null,
    });
    expect(status.body.finished_at).toBeTruthy();
    expect((await uvis.api.get('/api/v1/jobs/locations/nope-123', dispatcher)).status).toBe(404);
    expect((await uvis.api.get('/api/v1/jobs/emails/1', dispatcher)).status).toBe(400);
  });

  it('shows backups and maintenance jobs to admins only', async () => {
    const admin = await uvis.api.login();
    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const job = await uvis.running.deps.queues.maintenance.add('maintenance.cleanup', {}, { delay: 3_600_000 });
    try {
      for (const queue of ['backups', 'maintenance']) {
        const refused = await uvis.api.get(`/api/v1/jobs/${queue}/${job.id}`, dispatcher);
        expect(refused.status).toBe(403);
        expect(refused.body.error.code).toBe('forbidden');
      }
      const shown = await uvis.api.get(`/api/v1/jobs/maintenance/${job.id}`, admin);
      expect(shown.status).toBe(200);
      expect(shown.body).toMatchObject({ name: 'maintenance.cleanup', state: 'delayed' });
    } finally {
      await job.remove();
    }
  });
});

describe('retries', () => {
  it('a job that fails for a passing reason is retried with the capped backoff and then succeeds', async () => {
    const { db, queues } = uvis.running.deps;
    const [order] = await db('orders').select('id').limit(1);
    // Break the worker's write for a moment, as a migration or a lock might.
    await db.raw('alter table orders rename column distance_km to distance_km_away');
    try {
      const job = await queues.orders.add('order.changed', { eventId: 1, orderId: order.id, change: 'updated' });
      const delayed = await waitFor(async () => ((await queues.orders.getJobState(job.id!)) === 'delayed' ? queues.orders.getJob(job.id!) : undefined), {
        what: 'the job to wait for a retry',
      });
      expect(delayed!.attemptsMade).toBe(1);
      expect(delayed!.opts.attempts).toBe(25);
      // First retry after delay × 2^0 with ±10 % jitter.
      expect(delayed!.delay).toBeGreaterThanOrEqual(900);
      expect(delayed!.delay).toBeLessThanOrEqual(1100);
    } finally {
      await db.raw('alter table orders rename column distance_km_away to distance_km');
    }
    await waitFor(
      async () => {
        const jobs = await queues.orders.getJobs(['completed']);
        return jobs.find((j) => j.data.orderId === order.id && j.attemptsMade === 2);
      },
      { what: 'the retried job to complete' },
    );
  });

  it('doubles the delay up to five minutes and adds jitter', () => {
    const job = { opts: { backoff: { type: CAPPED_BACKOFF, delay: 1000 } } };
    const delays = [1, 2, 3, 9, 10, 24].map((attempt) => cappedBackoff(attempt, CAPPED_BACKOFF, undefined, job));
    const within = (value: number, expected: number) => value >= expected * 0.9 && value <= expected * 1.1;
    expect(delays.map((d, i) => within(d, [1000, 2000, 4000, 256_000, MAX_BACKOFF_MS, MAX_BACKOFF_MS][i]!))).toEqual([true, true, true, true, true, true]);
    expect(cappedBackoff(1, 'something-else', undefined, job)).toBe(0);
  });
});

describe('order follow-up', () => {
  it('a slow job does not write an old route over an address changed while it ran', async () => {
    const { db } = uvis.running.deps;
    const deps = uvis.running.deps as unknown as WorkerDeps;
    const [order] = await db('orders')
      .insert({ client_id: 1, pickup_address: '서울특별시 서초구 1', delivery_address: '부산광역시 사하구 1', cargo_type: 'CHILLED', weight_kg: 5 })
      .returning('id');
    const processor = queueDefinition('orders').createProcessor(deps);
    const blocker = await db.transaction();
    try {
      // Hold the row: the job reads the order, then waits to write ...
      await blocker('orders').where({ id: order.id }).forUpdate();
      const job = processor.handlers['order.changed']!({ eventId: 1, orderId: order.id, change: 'created' }, { job: {} as never, log: deps.log });
      await waitFor(
        async () =>
          (await db.raw(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)).rows.length ? true : undefined,
        { what: 'the job to wait on the row' },
      );
      // ... while the dispatcher changes the delivery address (and queues its own job).
      await blocker('orders').where({ id: order.id }).update({ delivery_address: '광주광역시 광산구 1', updated_at: blocker.fn.now() });
      await blocker.commit();
      expect(await job).toEqual({ superseded: true });
    } finally {
      if (!blocker.isCompleted()) await blocker.rollback();
    }
    const row = await db('orders').where({ id: order.id }).first();
    expect(row.distance_km).toBeNull();
    // The change's own job then writes the route for the new address.
    const next = await processor.handlers['order.changed']!({ eventId: 2, orderId: order.id, change: 'updated' }, { job: {} as never, log: deps.log });
    expect(next).toMatchObject({ distanceKm: expect.any(Number) });
  });
});

describe('dispatch history', () => {
  it('is kept once per event key, and an outbox id seen again after a restore still records its change', async () => {
    const { db } = uvis.running.deps;
    const deps = uvis.running.deps as unknown as WorkerDeps;
    const processor = queueDefinition('dispatches').createProcessor(deps);
    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const order = await createOrder(uvis.api, dispatcher);
    const dispatch = (await assign(uvis.api, dispatcher, order.id, 1, 1)).body;
    const record = (event: Record<string, unknown>) =>
      processor.handlers['dispatch.status_changed']!(
        {
          dispatchId: dispatch.id,
          orderId: order.id,
          driverId: 1,
          vehicleId: 1,
          changedBy: null,
          changedAt: new Date().toISOString(),
          note: null,
          ...event,
        } as never,
        { job: {} as never, log: deps.log },
      );
    const rows = () => db('dispatch_status_history').where({ event_id: 777_001 }).orderBy('id').select('event_key', 'to_status');
    const before = { eventId: 777_001, eventKey: '5f1d3c0e-8c1a-4a57-9d0e-0d6f6a7b2c11', from: 'ASSIGNED', to: 'ACCEPTED' };
    expect(await record(before)).toEqual({ historyInserted: true });
    // Redelivered: nothing new.
    expect(await record(before)).toEqual({ historyInserted: false });
    // After a restore the outbox hands out the same id to a new change, with a new key: it is recorded.
    const after = { eventId: 777_001, eventKey: '0b8f1e9a-2d4c-4e6b-8a1f-3c5d7e9f1a2b', from: 'ASSIGNED', to: 'PICKED_UP' };
    expect(await record(after)).toEqual({ historyInserted: true });
    expect(await rows()).toEqual([
      { event_key: before.eventKey, to_status: 'ACCEPTED' },
      { event_key: after.eventKey, to_status: 'PICKED_UP' },
    ]);
    // A job queued before keys existed still deduplicates on its outbox id.
    const legacy = { eventId: 777_002, from: 'ASSIGNED', to: 'ACCEPTED' };
    expect(await record(legacy)).toEqual({ historyInserted: true });
    expect(await record(legacy)).toEqual({ historyInserted: false });
  });
});

describe('job status read', () => {
  it('agrees with itself when the job finishes between reading it and reading its state', async () => {
    const prefix = `{t${Date.now().toString(36)}race}`;
    const connection = testRedis();
    const queue = new Queue('race', { connection, prefix });
    const worker = new Worker('race', async () => ({ answer: 42 }), { connection, prefix, autorun: false });
    try {
      const added = await queue.add('x', {});
      let first = true;
      // Real Redis, real worker: only the timing is forced. The first read returns the
      // job as it was while waiting, and the worker finishes it before the state is read.
      const racing = {
        getJob: async (id: string) => {
          const snapshot = await queue.getJob(id);
          if (first) {
            first = false;
            void worker.run();
            await waitFor(async () => (await queue.getJobState(id)) === 'completed', { what: 'the job to finish' });
          }
          return snapshot;
        },
      };
      const found = (await jobWithState(racing, added.id!))!;
      expect(found.state).toBe('completed');
      expect(found.job.returnvalue).toEqual({ answer: 42 });
      expect(found.job.finishedOn).toEqual(expect.any(Number));
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});
