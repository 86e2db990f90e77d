/** The job catalogue, payload re-validation in workers, and job status for dispatchers. */
import { describe, expect, it, afterAll, beforeAll } from 'vitest';
import { z } from 'zod';
import { checkCatalogue, catalogue } from '../../jobs/index.js';
import type { WorkerDeps } from '../../jobs/define.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

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
    const status = await waitFor(async () => {
      const res = await uvis.api.get(`/api/v1/jobs/locations/${posted.body.job_id}`, dispatcher);
      return res.body.state === 'completed' ? res : undefined;
    }, { what: 'completed job' });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ id: posted.body.job_id, queue: 'locations', name: 'points', attempts_made: 1, result: { points: 1 }, failed_reason: null });
    expect(status.body.finished_at).toBeTruthy();
    expect((await uvis.api.get('/api/v1/jobs/locations/nope-123', dispatcher)).status).toBe(404);
    expect((await uvis.api.get('/api/v1/jobs/emails/1', dispatcher)).status).toBe(400);
  });
});
