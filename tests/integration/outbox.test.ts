/**
 * The transactional outbox: a committed change gets its job even when Redis is
 * down at that moment, and a rolled-back change never gets one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../use-cases/transaction.js';
import { writeOutbox } from '../../db/outbox.js';
import { outboxJobId } from '../../jobs/outbox-relay.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let redis: PrivateRedis;
let uvis: TestUvis;

beforeAll(async () => {
  redis = await startPrivateRedis();
  uvis = await startTestUvis({ role: 'all', env: { REDIS_URL: redis.url, OUTBOX_POLL_MS: '100', REDIS_COMMAND_TIMEOUT_MS: '500' } });
});
afterAll(async () => {
  await uvis?.stop();
  await redis?.destroy();
});

describe('transactional outbox', () => {
  it('an order committed while Redis is down still gets its job once Redis is back', async () => {
    const { api, running } = uvis;
    const { db, queues } = running.deps;
    const token = await api.login(DEMO_DISPATCHER);

    await redis.stop();
    const started = Date.now();
    const created = await api.post(
      '/api/v1/orders',
      { client_id: 1, pickup_address: '인천광역시 연수구 송도동 1', delivery_address: '광주광역시 광산구 1', cargo_type: 'FROZEN', weight: 50 },
      token,
    );
    expect(created.status, created.text).toBe(201);
    expect(Date.now() - started).toBeLessThan(3000);
    const row = await db('outbox').where({ queue: 'orders' }).whereRaw(`(payload->>'orderId')::int = ?`, [created.body.id]).first();
    expect(row.published_at).toBeNull();
    // The relay keeps trying while Redis is away, records why it failed, and backs off:
    // each failed poll doubles the wait (100 ms poll here), and kicks from new
    // commits do not bring it forward.
    const attemptTimes: number[] = [];
    await waitFor(
      async () => {
        const { attempts } = await db('outbox').where({ id: row.id }).first();
        while (attemptTimes.length < attempts) attemptTimes.push(Date.now());
        running.deps.relay.kick();
        return attempts >= 5 ? true : undefined;
      },
      { intervalMs: 20, timeoutMs: 15_000, what: 'five relay attempts' },
    );
    expect((await db('outbox').where({ id: row.id }).first()).last_error).toBeTruthy();
    // After four failures the next poll waits 1.6 s; without backoff it would be 100 ms.
    expect(attemptTimes[4]! - attemptTimes[3]!).toBeGreaterThanOrEqual(1400);

    await redis.start();
    const jobId = outboxJobId(row.job_key);
    await waitFor(async () => (await queues.orders.getJobState(jobId)) === 'completed', { timeoutMs: 20_000, what: 'the order job' });
    const published = await db('outbox').where({ id: row.id }).first();
    expect(published.published_at).not.toBeNull();
    const order = await db('orders').where({ id: created.body.id }).first();
    expect(order.distance_km).toBeGreaterThan(200);
    // One job for the one change.
    const jobs = await queues.orders.getJobs(['completed', 'waiting', 'active', 'delayed', 'failed']);
    expect(jobs.filter((j) => j.data.eventId === row.id)).toHaveLength(1);
    // The job carries the row's never-reused key, which dispatch history deduplicates on.
    expect((await queues.orders.getJob(jobId))!.data.eventKey).toBe(row.job_key);
  });

  it('a write that rolls back leaves no outbox row and no job', async () => {
    const { deps } = uvis.running;
    const before = await deps.db('outbox').count<{ count: string }[]>('* as count');
    await expect(
      transaction(deps, async (tx) => {
        await writeOutbox(tx.trx, 'orders', 'order.changed', { orderId: 1, change: 'updated' });
        throw new Error('the change failed after announcing itself');
      }),
    ).rejects.toThrow('the change failed');
    const after = await deps.db('outbox').count<{ count: string }[]>('* as count');
    expect(after[0]!.count).toBe(before[0]!.count);
    expect(await deps.relay.relayPending()).toBe(0);
    const counts = await deps.queues.orders.getJobCounts('waiting', 'active', 'delayed');
    expect((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0)).toBe(0);
  });

  it('relaying the same row twice makes one job (the job id comes from the row)', async () => {
    const { deps } = uvis.running;
    const id = await deps.db.transaction((trx) => writeOutbox(trx, 'orders', 'order.changed', { orderId: 1, change: 'updated' }));
    const { job_key: jobKey } = await deps.db('outbox').where({ id }).first();
    await waitFor(async () => (await deps.queues.orders.getJobState(outboxJobId(jobKey))) === 'completed', { what: 'first relay' });
    // Simulate a relay that crashed after adding but before marking the row.
    await deps.db('outbox').where({ id }).update({ published_at: null });
    await deps.relay.relayPending();
    const jobs = await deps.queues.orders.getJobs(['completed', 'waiting', 'active', 'delayed']);
    expect(jobs.filter((j) => j.id === outboxJobId(jobKey))).toHaveLength(1);
  });

  it('after a restore hands out an outbox id again, the new change still gets its own job', async () => {
    const { db, queues, relay } = uvis.running.deps;
    const first = await db.transaction((trx) => writeOutbox(trx, 'orders', 'order.changed', { orderId: 1, change: 'updated' }));
    await relay.relayPending();
    await waitFor(async () => (await queues.orders.getJobs(['completed'])).some((j) => j.data.eventId === first), { what: 'the first job' });
    // What restoring an older backup does: the row is gone and its id comes round again,
    // while Redis still remembers the job of the change that was lost.
    await db('outbox').where({ id: first }).del();
    await db.raw(`select setval(pg_get_serial_sequence('outbox', 'id'), ?, false)`, [first]);
    const again = await db.transaction((trx) => writeOutbox(trx, 'orders', 'order.changed', { orderId: 1, change: 'status' }));
    expect(again).toBe(first);
    await relay.relayPending();
    await waitFor(
      async () => {
        const jobs = await queues.orders.getJobs(['completed']);
        return jobs.filter((j) => j.data.eventId === first).length === 2 ? true : undefined;
      },
      { what: 'a second job for the reused id' },
    );
  });

  it('a row for a queue this version does not know waits without holding up the others', async () => {
    const { db, queues, relay } = uvis.running.deps;
    const [future] = await db('outbox')
      .insert({ queue: 'invoices', job_name: 'invoice.issued', payload: { invoiceId: 1 } })
      .returning('id');
    const known = await db.transaction((trx) => writeOutbox(trx, 'orders', 'order.changed', { orderId: 1, change: 'updated' }));
    await relay.relayPending();
    await waitFor(async () => (await queues.orders.getJobs(['completed'])).some((j) => j.data.eventId === known), { what: 'the known row relayed' });
    const waiting = await db('outbox').where({ id: future.id }).first();
    expect(waiting).toMatchObject({ published_at: null, attempts: 0 });
    await db('outbox').where({ id: future.id }).del();
  });
});
