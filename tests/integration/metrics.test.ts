/** /metrics of an API process and of a worker process after real traffic and real jobs. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxJobId } from '../../jobs/outbox-relay.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { parseMetrics, total, has } from '../helpers/prom-text.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let api: TestUvis;
let worker: TestUvis;
const scrape = async (url: string) => parseMetrics(await (await fetch(url)).text());

beforeAll(async () => {
  api = await startTestUvis({ role: 'api' });
  // A separate worker process of the same deployment: same database, same Redis prefix.
  worker = await startTestUvis({ role: 'worker', database: api.database, prefix: api.config.redisPrefix });
});
afterAll(async () => {
  await worker?.stop({ keepData: true });
  await api?.stop();
});

describe('metrics', () => {
  it('the API counts requests by method, route template and status, with durations, and accepted locations', async () => {
    const before = await scrape(`${api.baseUrl}/metrics`);
    const token = await api.api.login(DEMO_DISPATCHER);
    const driver = await api.api.login();
    for (const id of [1, 2, 3]) expect((await api.api.get(`/api/v1/orders/${id}`, token)).status).toBe(200);
    expect((await api.api.get('/api/v1/orders/999999', token)).status).toBe(404);
    await api.api.post(
      '/api/v1/mobile/locations',
      {
        points: [
          { latitude: 37, longitude: 127 },
          { latitude: 37.1, longitude: 127.1 },
        ],
      },
      driver,
    );
    // The exposition is reused for up to a second (a scrape flood stays cheap): wait for one that shows the calls.
    const after = await waitFor(
      async () => {
        const samples = await scrape(`${api.baseUrl}/metrics`);
        return total(samples, 'uvis_locations_accepted_total') - total(before, 'uvis_locations_accepted_total') === 2 ? samples : undefined;
      },
      { what: 'a scrape after the calls' },
    );

    const orders200 = { method: 'GET', route: '/api/v1/orders/:id', status: '200' };
    expect(total(after, 'http_requests_total', orders200) - total(before, 'http_requests_total', orders200)).toBe(3);
    expect(total(after, 'http_requests_total', { route: '/api/v1/orders/:id', status: '404' })).toBe(1);
    expect(has(after, 'http_request_duration_seconds_bucket', { ...orders200, le: '0.2' })).toBe(true);
    expect(total(after, 'http_request_duration_seconds_count', orders200)).toBeGreaterThanOrEqual(3);
    // Route labels are templates: no raw ids ever become label values.
    expect(after.filter((s) => s.name === 'http_requests_total').every((s) => !/\/\d+/.test(s.labels.route!))).toBe(true);
    expect(total(after, 'uvis_locations_accepted_total') - total(before, 'uvis_locations_accepted_total')).toBe(2);
    // Queue depth read from Redis at scrape time, pool state, process metrics.
    for (const queue of ['orders', 'dispatches', 'locations']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) expect(has(after, 'uvis_queue_jobs', { queue, state })).toBe(true);
    }
    expect(has(after, 'uvis_db_pool_connections', { state: 'waiting' })).toBe(true);
    expect(has(after, 'uvis_db_pool_connections', { state: 'free' })).toBe(true);
    expect(has(after, 'uvis_outbox_pending')).toBe(true);
    expect(has(after, 'process_cpu_user_seconds_total')).toBe(true);
    expect(has(after, 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('a worker serves its own /metrics: jobs by outcome, processing and wait times, stored locations', async () => {
    const metricsUrl = `http://127.0.0.1:${worker.running.metricsPort}/metrics`;
    const driver = await api.api.login();
    const dispatcher = await api.api.login(DEMO_DISPATCHER);
    const before = await scrape(metricsUrl);
    await api.api.post('/api/v1/mobile/locations', { points: Array.from({ length: 5 }, (_, i) => ({ latitude: 36 + i / 100, longitude: 127 })) }, driver);
    const order = await api.api.post(
      '/api/v1/orders',
      { client_id: 1, pickup_address: '서울시 종로구', delivery_address: '세종시', cargo_type: '상온', weight: 10 },
      dispatcher,
    );
    expect(order.status).toBe(201);
    const after = await waitFor(
      async () => {
        const samples = await scrape(metricsUrl);
        const stored = total(samples, 'uvis_locations_stored_total') - total(before, 'uvis_locations_stored_total');
        const orders =
          total(samples, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'completed' }) -
          total(before, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'completed' });
        return stored === 5 && orders >= 1 ? samples : undefined;
      },
      { what: 'worker metrics to move' },
    );
    expect(total(after, 'uvis_jobs_processed_total', { queue: 'locations', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(total(after, 'uvis_job_duration_seconds_count', { queue: 'orders' })).toBeGreaterThanOrEqual(1);
    expect(total(after, 'uvis_job_wait_seconds_count', { queue: 'locations' })).toBeGreaterThanOrEqual(1);
    expect(has(after, 'uvis_job_wait_seconds_bucket', { queue: 'orders', le: '1' })).toBe(true);
    expect(has(after, 'uvis_location_batch_points_bucket')).toBe(true);
    expect(after.find((s) => s.name === 'uvis_jobs_processed_total')?.labels.role).toBe('worker');
    // The worker answers health checks on the same port.
    expect((await fetch(`http://127.0.0.1:${worker.running.metricsPort}/health`)).status).toBe(200);
  });

  it('a job whose payload can never succeed is counted as failed at once, with no retry', async () => {
    const metricsUrl = `http://127.0.0.1:${worker.running.metricsPort}/metrics`;
    const before = await scrape(metricsUrl);
    await api.running.deps.queues.orders.add('order.changed', { nonsense: true }, { attempts: 3 });
    const after = await waitFor(
      async () => {
        const samples = await scrape(metricsUrl);
        return total(samples, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'failed' }) >
          total(before, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'failed' })
          ? samples
          : undefined;
      },
      { what: 'failed count' },
    );
    expect(
      total(after, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'failed' }) -
        total(before, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'failed' }),
    ).toBe(1);
    // An invalid payload fails for good at once: no retry was counted for it.
    expect(total(after, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'retrying' })).toBe(
      total(before, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'retrying' }),
    );
  });

  it('a job that fails once with a transient error is counted as retrying, then completed, and never as failed', async () => {
    const metricsUrl = `http://127.0.0.1:${worker.running.metricsPort}/metrics`;
    const db = api.running.deps.db;
    const marker = `재시도 ${randomUUID()}`;
    // The worker's first write of this order's route fails, every later one succeeds. A
    // sequence counts the attempts because nextval survives the rollback of the failed one.
    await db.raw('create sequence metrics_retry_attempts');
    await db.raw(`
      create function metrics_fail_once() returns trigger language plpgsql as $$
      begin
        if nextval('metrics_retry_attempts') = 1 then
          raise exception 'injected transient failure' using errcode = '40001';
        end if;
        return new;
      end $$`);
    // DDL takes no bind parameters; the marker is a UUID and Hangul, no quotes.
    await db.raw(`create trigger metrics_fail_once before update on orders for each row when (new.notes = '${marker}') execute function metrics_fail_once()`);
    try {
      const dispatcher = await api.api.login(DEMO_DISPATCHER);
      const count = (samples: Awaited<ReturnType<typeof scrape>>, outcome: string) => total(samples, 'uvis_jobs_processed_total', { queue: 'orders', outcome });
      const counts = (samples: Awaited<ReturnType<typeof scrape>>) => ({
        completed: count(samples, 'completed'),
        retrying: count(samples, 'retrying'),
        failed: count(samples, 'failed'),
      });
      const before = counts(await scrape(metricsUrl));
      const order = await api.api.post(
        '/api/v1/orders',
        { client_id: 1, pickup_address: '서울시 강남구 테헤란로 1', delivery_address: '부산시 해운대구 우동 1', cargo_type: '냉장', weight: 10, notes: marker },
        dispatcher,
      );
      expect(order.status, order.text).toBe(201);
      // The job's second attempt (after a backoff of about a second) writes the route.
      await waitFor(async () => (await db('orders').where({ id: order.body.id }).whereNotNull('distance_km').first()) ?? undefined, {
        timeoutMs: 20_000,
        what: 'the retried job to write the route',
      });
      const after = await waitFor(
        async () => {
          const now = counts(await scrape(metricsUrl));
          return now.completed > before.completed ? now : undefined;
        },
        { what: 'the completion to be counted' },
      );
      expect((await db.raw(`select last_value::int as n from metrics_retry_attempts`)).rows[0].n).toBe(2);
      expect(after.retrying - before.retrying).toBe(1);
      expect(after.completed - before.completed).toBe(1);
      expect(after.failed).toBe(before.failed);
      // The job itself says so too: two attempts, completed.
      const { job_key: jobKey } = await db('outbox')
        .where({ queue: 'orders' })
        .whereRaw(`payload->>'orderId' = ?`, [String(order.body.id)])
        .first('job_key');
      const job = await api.running.deps.queues.orders.getJob(outboxJobId(jobKey));
      expect(await job!.getState()).toBe('completed');
      expect(job!.attemptsMade).toBe(2);
    } finally {
      await db.raw('drop trigger if exists metrics_fail_once on orders');
      await db.raw('drop function if exists metrics_fail_once()');
      await db.raw('drop sequence if exists metrics_retry_attempts');
    }
  });
});

describe('METRICS_TOKEN', () => {
  it('the API and a worker refuse /metrics without the bearer token or with a wrong one, and serve it with the right one', async () => {
    const token = 'metrics-token-for-tests-0123456789';
    const env = { METRICS_TOKEN: token };
    const guardedApi = await startTestUvis({ role: 'api', env });
    const guardedWorker = await startTestUvis({ role: 'worker', env, database: guardedApi.database, prefix: guardedApi.config.redisPrefix });
    try {
      const urls = [`${guardedApi.baseUrl}/metrics`, `${guardedApi.baseUrl}/api/v1/metrics`, `http://127.0.0.1:${guardedWorker.running.metricsPort}/metrics`];
      // Missing, same length but wrong, one character longer, no scheme, another scheme.
      const wrong = [undefined, `Bearer ${'x'.repeat(token.length)}`, `Bearer ${token}x`, token, `Basic ${token}`];
      for (const url of urls) {
        for (const authorization of wrong) {
          const refused = await fetch(url, { headers: authorization ? { authorization } : {} });
          const text = await refused.text();
          expect(refused.status, `${url} with ${authorization}`).toBe(401);
          expect(JSON.parse(text).error.code).toBe('unauthorized');
          expect(text).not.toContain('process_cpu');
        }
        const served = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        expect(served.status, url).toBe(200);
        expect(has(parseMetrics(await served.text()), 'process_cpu_user_seconds_total')).toBe(true);
      }
      // Health checks stay open on the worker's port.
      expect((await fetch(`http://127.0.0.1:${guardedWorker.running.metricsPort}/health`)).status).toBe(200);
    } finally {
      await guardedWorker.stop({ keepData: true });
      await guardedApi.stop();
    }
  });
});
