/**
 * Scenario 4: a rolling restart under load. Two API processes behind nginx and two
 * workers get SIGTERM one at a time while a load generator runs. No request gets a
 * connection error or a 5xx from the restart, and no job is lost or run twice with a
 * visible effect.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/knex.js';
import { ApiClient, waitFor } from '../helpers/api-client.js';
import { driverTokens, report, storedPoints } from '../helpers/chaos.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startLoadBalancer } from '../helpers/load-balancer.js';
import { freePort } from '../helpers/private-redis.js';
import { startUvisProcess, type UvisProcess } from '../helpers/uvis-process.js';
import { deleteRedisPrefix, newPrefix } from '../helpers/uvis.js';
import { useScratch } from '../helpers/scratch.js';

// Stopped and removed after the file, in reverse order, a failing cleanup not stopping the others.
const { cleanups } = useScratch();

describe('rolling restart', () => {
  it('restarts every API and worker process under load with no failed request and nothing lost', async () => {
    const database = await createTestDatabase();
    const prefix = newPrefix();
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 30_000 });
    cleanups.push(
      () => database.drop(),
      () => deleteRedisPrefix(prefix),
      () => db.destroy(),
    );
    // Readiness answers 503 for a moment before the listener closes, as behind a real balancer.
    const env = { DATABASE_URL: database.url, REDIS_PREFIX: prefix, SHUTDOWN_DRAIN_DELAY_MS: '1000' };
    const apiPorts = [await freePort(), await freePort()];
    const apis: UvisProcess[] = [await startUvisProcess('api', env, apiPorts[0]), await startUvisProcess('api', env, apiPorts[1])];
    const workers: UvisProcess[] = [await startUvisProcess('worker', env), await startUvisProcess('worker', env)];
    cleanups.push(() => Promise.all([...apis, ...workers].map((p) => p.stop())));
    const lb = await startLoadBalancer(apiPorts);
    cleanups.push(() => lb.stop());
    const client = new ApiClient(lb.url);
    const drivers = await driverTokens(db, client, 20);

    const outcomes: Record<string, number> = {};
    let accepted = 0;
    let running = true;
    const loops = drivers.map(async ({ token }, i) => {
      while (running) {
        try {
          const post = await client.post('/api/v1/mobile/location', { latitude: 37 + i / 100, longitude: 127 + Math.random() / 100 }, token, {
            'Idempotency-Key': randomUUID(),
          });
          outcomes[post.status] = (outcomes[post.status] ?? 0) + 1;
          if (post.status === 202) accepted++;
          const list = await client.get('/api/v1/mobile/dispatches', token);
          outcomes[list.status] = (outcomes[list.status] ?? 0) + 1;
        } catch {
          outcomes.network = (outcomes.network ?? 0) + 1;
        }
      }
    });

    // Each restart happens under load that has demonstrably run: so many more posts
    // accepted, counted rather than timed (a slow machine just takes longer).
    const underLoad = (posts: number, what: string) => {
      const mark = accepted;
      return waitFor(async () => accepted >= mark + posts, { timeoutMs: 30_000, intervalMs: 20, what: `${posts} more accepted posts ${what}` });
    };
    await underLoad(100, 'before the first restart');
    const restarts: string[] = [];
    for (let i = 0; i < apis.length; i++) {
      const code = await apis[i]!.stop();
      expect(code, apis[i]!.output()).toBe(0);
      apis[i] = await startUvisProcess('api', env, apiPorts[i]);
      restarts.push(`api${i + 1}`);
      await underLoad(100, `after restarting api${i + 1}`);
    }
    for (let i = 0; i < workers.length; i++) {
      const workerCode = await workers[i]!.stop();
      expect(workerCode, workers[i]!.output()).toBe(0);
      workers[i] = await startUvisProcess('worker', env);
      restarts.push(`worker${i + 1}`);
      await underLoad(100, `after restarting worker${i + 1}`);
    }
    running = false;
    await Promise.all(loops);

    const ids = drivers.map((d) => d.driverId);
    await waitFor(async () => (await storedPoints(db, ids)).rows >= accepted, { timeoutMs: 60_000, intervalMs: 500, what: 'every accepted point' });
    const stored = await storedPoints(db, ids);
    const failures = Object.entries(outcomes).filter(([status]) => status === 'network' || Number(status) >= 500);
    report('rolling restart', {
      injected: `SIGTERM, one at a time: ${restarts.join(', ')}`,
      responses: outcomes,
      pointsAccepted: accepted,
      pointsStored: stored.rows,
      distinct: stored.distinct,
    });
    expect(failures).toEqual([]);
    expect(accepted).toBeGreaterThan(100);
    expect(stored).toEqual({ rows: accepted, distinct: accepted });
  });
});
