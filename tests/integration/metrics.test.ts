/** /metrics of an API process and of a worker process after real traffic and real jobs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    await api.api.post('/api/v1/mobile/locations', { points: [{ latitude: 37, longitude: 127 }, { latitude: 37.1, longitude: 127.1 }] }, driver);
    const after = await scrape(`${api.baseUrl}/metrics`);

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
    const order = await api.api.post('/api/v1/orders', { client_id: 1, pickup_address: '서울시 종로구', delivery_address: '세종시', cargo_type: '상온', weight: 10 }, dispatcher);
    expect(order.status).toBe(201);
    const after = await waitFor(async () => {
      const samples = await scrape(metricsUrl);
      const stored = total(samples, 'uvis_locations_stored_total') - total(before, 'uvis_locations_stored_total');
      const orders = total(samples, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'completed' }) - total(before, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'completed' });
      return stored === 5 && orders >= 1 ? samples : undefined;
    }, { what: 'worker metrics to move' });
    expect(total(after, 'uvis_jobs_processed_total', { queue: 'locations', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(total(after, 'uvis_job_duration_seconds_count', { queue: 'orders' })).toBeGreaterThanOrEqual(1);
    expect(total(after, 'uvis_job_wait_seconds_count', { queue: 'locations' })).toBeGreaterThanOrEqual(1);
    expect(has(after, 'uvis_job_wait_seconds_bucket', { queue: 'orders', le: '1' })).toBe(true);
    expect(has(after, 'uvis_location_batch_points_bucket')).toBe(true);
    expect(after.find((s) => s.name === 'uvis_jobs_processed_total')?.labels.role).toBe('worker');
    // The worker answers health checks on the same port.
    expect((await fetch(`http://127.0.0.1:${worker.running.metricsPort}/health`)).status).toBe(200);
  });

  it('a failed job is counted as failed; a retried one as retrying', async () => {
    const metricsUrl = `http://127.0.0.1:${worker.running.metricsPort}/metrics`;
    const before = await scrape(metricsUrl);
    await api.running.deps.queues.orders.add('order.changed', { nonsense: true }, { attempts: 3 });
    const after = await waitFor(async () => {
      const samples = await scrape(metricsUrl);
      return total(samples, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'failed' }) > total(before, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'failed' })
        ? samples
        : undefined;
    }, { what: 'failed count' });
    // An invalid payload fails for good at once: no retry was counted for it.
    expect(total(after, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'retrying' })).toBe(total(before, 'uvis_jobs_processed_total', { queue: 'orders', outcome: 'retrying' }));
  });
});
