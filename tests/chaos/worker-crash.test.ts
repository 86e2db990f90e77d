/**
 * Scenario 1: a worker is killed with SIGKILL in the middle of processing GPS points
 * and dispatch events; another worker finishes them. Every accepted point and every
 * event is stored exactly once.
 */
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/knex.js';
import { ApiClient, waitFor } from '../helpers/api-client.js';
import { countRows, driverTokens, report, storedPoints } from '../helpers/chaos.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startUvisProcess, type UvisProcess } from '../helpers/uvis-process.js';
import { deleteRedisPrefix, newPrefix } from '../helpers/uvis.js';
import { useScratch } from '../helpers/scratch.js';

// Stopped and removed after the file, in reverse order, a failing cleanup not stopping the others.
const { cleanups } = useScratch();

describe('worker killed mid-processing', () => {
  it('another worker finishes its jobs; points and events are stored exactly once', async () => {
    const database = await createTestDatabase();
    const prefix = newPrefix();
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 30_000 });
    cleanups.push(
      () => database.drop(),
      () => deleteRedisPrefix(prefix),
      () => db.destroy(),
    );
    const env = { DATABASE_URL: database.url, REDIS_PREFIX: prefix };
    const api = await startUvisProcess('api', env);
    cleanups.push(() => api.stop());
    // A deliberately slow first worker, so that the kill lands mid-way.
    const doomed: UvisProcess = await startUvisProcess('worker', {
      ...env,
      LOCATIONS_CONCURRENCY: '4',
      LOCATION_BATCH_MAX_WAIT_MS: '200',
      WORKER_CONCURRENCY: '2',
    });
    cleanups.push(() => doomed.kill());
    const client = new ApiClient(api.url);
    const admin = await client.login();
    const drivers = await driverTokens(db, client, 10);

    // Dispatch events: orders assigned and completed by driver 1 (the demo admin's profile), four events each.
    const dispatchFlows = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const order = await client.post(
          '/api/v1/orders',
          { client_id: 1, pickup_address: '서울시 중구 1', delivery_address: '대전광역시 유성구 1', cargo_type: '냉장', weight: 10 },
          admin,
        );
        const dispatch = await client.post('/api/v1/dispatches', { order_id: order.body.id, vehicle_id: 1, driver_id: 1 }, admin);
        expect(dispatch.status).toBe(201);
        for (const status of ['ACCEPTED', 'PICKED_UP', 'COMPLETED']) {
          expect((await client.request('PUT', `/api/v1/mobile/dispatches/${dispatch.body.id}/status`, { json: { status }, token: admin })).status).toBe(200);
        }
      }
    };
    await dispatchFlows(10);
    // GPS points: 20 batches of 100 points per driver.
    let accepted = 0;
    await Promise.all(
      drivers.map(async ({ token }, d) => {
        for (let b = 0; b < 20; b++) {
          const points = Array.from({ length: 100 }, (_, i) => ({ latitude: 35 + d / 100, longitude: 127 + (b * 100 + i) / 1e5 }));
          const res = await client.post('/api/v1/mobile/locations', { points }, token);
          expect(res.status).toBe(202);
          accepted += res.body.accepted;
        }
      }),
    );
    const ids = drivers.map((d) => d.driverId);
    // Kill while the first worker is part-way through.
    await waitFor(async () => (await storedPoints(db, ids)).rows > 0, { timeoutMs: 30_000, what: 'the first points' });
    // More dispatch events right before the kill, so some are in flight when it lands.
    await dispatchFlows(5);
    await doomed.kill();
    const atKill = await storedPoints(db, ids);
    const historyAtKill = await countRows(db, 'dispatch_status_history');
    expect(atKill.rows).toBeLessThan(accepted);

    const rescuer = await startUvisProcess('worker', env);
    cleanups.push(() => rescuer.stop());
    const events = await countRows(db, 'outbox', (q) => q.where({ queue: 'dispatches' }));
    await waitFor(async () => (await storedPoints(db, ids)).rows === accepted && (await countRows(db, 'dispatch_status_history')) >= events, {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'the second worker to finish',
    });
    // Let any duplicate delivery that might still be in flight land before counting.
    await waitFor(
      async () => {
        const text = await (await fetch(`${api.url}/metrics`)).text();
        return !/uvis_queue_jobs\{queue="(locations|dispatches)",state="(active|waiting|delayed)"[^}]*\} [1-9]/.test(text);
      },
      { timeoutMs: 60_000, what: 'queues empty' },
    );
    const final = await storedPoints(db, ids);
    const history = await countRows(db, 'dispatch_status_history');
    const distinctEvents = Number((await db('dispatch_status_history').countDistinct<{ c: string }[]>('event_id as c'))[0]!.c);
    report('worker SIGKILL', {
      injected: 'SIGKILL of the only worker mid-way',
      pointsAccepted: accepted,
      pointsStoredAtKill: atKill.rows,
      pointsStored: final.rows,
      distinctPoints: final.distinct,
      dispatchEvents: events,
      historyRowsAtKill: historyAtKill,
      historyRows: history,
    });
    expect(final).toEqual({ rows: accepted, distinct: accepted });
    expect(history).toBe(events);
    expect(distinctEvents).toBe(events);
  });
});
