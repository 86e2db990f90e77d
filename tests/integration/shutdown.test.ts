/** Graceful shutdown: readiness turns 503, in-flight requests and jobs finish, then everything closes. */
import { describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { createDb } from '../../db/knex.js';
import { startTestUvis } from '../helpers/uvis.js';

describe('graceful shutdown', () => {
  it('answers 503 on readiness while draining and lets an in-flight request finish', async () => {
    const uvis = await startTestUvis({ role: 'api', env: { SHUTDOWN_DRAIN_DELAY_MS: '800' } });
    const token = await uvis.api.login(DEMO_DISPATCHER);
    const order = (
      await uvis.api.post(
        '/api/v1/orders',
        { client_id: 1, pickup_address: '서울시 중구 1', delivery_address: '인천광역시 중구 1', cargo_type: 'AMBIENT', weight: 5 },
        token,
      )
    ).body;
    // Hold the order's row lock elsewhere so the PATCH is still running when shutdown starts.
    const other = createDb({ url: uvis.database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 30_000 });
    const trx = await other.transaction();
    await trx('orders').where({ id: order.id }).forUpdate().first();
    const inFlight = uvis.api.request('PATCH', `/api/v1/orders/${order.id}`, { json: { notes: '조심히 운반' }, token });
    await waitFor(
      async () =>
        (await other.raw(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = ?`, [uvis.database.name])).rows[0].n > 0,
      { what: 'the request to block' },
    );
    const stopped = uvis.running.shutdown.run('SIGTERM');
    const ready = await waitFor(
      async () => {
        const res = await uvis.api.get('/api/v1/health/ready');
        return res.status === 503 ? res : undefined;
      },
      { what: 'readiness 503' },
    );
    expect(ready.body.status).toBe('draining');
    await trx.commit();
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect(done.body.notes).toBe('조심히 운반');
    expect(await stopped).toEqual([]);
    await expect(fetch(`${uvis.baseUrl}/api/v1/health`)).rejects.toThrow();
    await other.destroy();
    await uvis.database.drop();
  });

  it('lets a job in flight finish and commit before the workers close', async () => {
    const uvis = await startTestUvis({ role: 'all' });
    const token = await uvis.api.login();
    // Block the location writer's transaction on driver 1's position row.
    const other = createDb({ url: uvis.database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 30_000 });
    const trx = await other.transaction();
    await trx.raw(`insert into driver_positions (driver_id, latitude, longitude, recorded_at) values (1, 0, 0, now() - interval '1 day')
                   on conflict (driver_id) do update set latitude = 0`);
    const posted = await uvis.api.post('/api/v1/mobile/location', { latitude: 33.5, longitude: 126.5 }, token);
    expect(posted.status).toBe(202);
    await waitFor(async () => (await uvis.running.deps.queues.locations.getJobState(posted.body.job_id)) === 'active', { what: 'job active' });
    const stopped = uvis.running.shutdown.run('SIGTERM');
    // Shutdown has reached the workers (their close has begun) while the job is still held:
    // only now let it go, so its commit can only land inside the workers' close.
    const worker = uvis.running.workers!.workers.find((w) => w.name === 'locations')!;
    await waitFor(async () => worker.closing !== undefined, { what: 'the workers to start closing' });
    expect(await uvis.running.deps.queues.locations.getJobState(posted.body.job_id)).toBe('active');
    expect(await other('vehicle_locations').where({ driver_id: 1, latitude: 33.5 })).toHaveLength(0);
    await trx.commit();
    expect(await stopped).toEqual([]);
    const stored = await other('vehicle_locations').where({ driver_id: 1, latitude: 33.5 });
    expect(stored).toHaveLength(1);
    await other.destroy();
    await uvis.database.drop();
  });
});
