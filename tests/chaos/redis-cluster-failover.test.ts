/**
 * A Redis Cluster master dies mid-ingest. With REDIS_WAIT_REPLICAS=1 the API answers 202 only
 * once a replica holds the job, so when the master that holds the locations queue is SIGKILLed
 * and its replica takes over, every point answered 202 is still there and is stored exactly once.
 * The UVIS processes (an API and a worker) are not restarted: they find the new master themselves.
 *
 * The phones here behave as the API asks: a 503 (or a lost answer) is retried with the same
 * Idempotency-Key and body until it is answered 202.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../db/knex.js';
import { ApiClient, waitFor } from '../helpers/api-client.js';
import { driverTokens, report, storedPoints } from '../helpers/chaos.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { startUvisProcess } from '../helpers/uvis-process.js';
import { createDriverAccount } from '../helpers/fixtures.js';
import { newPrefix, startTestUvis } from '../helpers/uvis.js';
import { useScratch } from '../helpers/scratch.js';

// Stopped and removed after the file, in reverse order, a failing cleanup not stopping the others.
const { cleanups } = useScratch();

const BATCHES_PER_DRIVER = 40;
const POINTS_PER_BATCH = 20;

describe('Redis Cluster failover mid-ingest', () => {
  it('stores every point answered 202 exactly once after the locations master is killed, without restarting UVIS', async () => {
    const cluster = await startRedisCluster();
    const database = await createTestDatabase();
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 30_000 });
    cleanups.push(
      () => cluster.destroy(),
      () => database.drop(),
      () => db.destroy(),
    );
    const prefix = newPrefix();
    const env = {
      DATABASE_URL: database.url,
      REDIS_CLUSTER_NODES: cluster.seeds,
      REDIS_PREFIX: prefix,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'error',
    };
    const api = await startUvisProcess('api', env);
    const worker = await startUvisProcess('worker', env);
    cleanups.push(
      () => api.stop(),
      () => worker.stop(),
    );
    const client = new ApiClient(api.url);
    const drivers = await driverTokens(db, client, 8);
    const ids = drivers.map((d) => d.driverId);
    const doomed = await cluster.masterOf(`{${prefix}:locations}:locations:id`);

    // Answers by phase, each request counted in the phase it started in.
    type Phase = 'before' | 'failover' | 'alone' | 'after';
    let phase: Phase = 'before';
    const statuses: Record<Phase, Record<string, number>> = { before: {}, failover: {}, alone: {}, after: {} };
    let acceptedPoints = 0;
    let firstAcceptedAfterRestart = 0;
    const phone = async ({ token }: { token: string }, d: number) => {
      for (let b = 0; b < BATCHES_PER_DRIVER; b++) {
        const points = Array.from({ length: POINTS_PER_BATCH }, (_, i) => ({
          latitude: 35 + d / 100,
          longitude: 127 + (b * POINTS_PER_BATCH + i) / 1e5,
          point_id: `d${d}-b${b}-p${i}`,
        }));
        for (;;) {
          const startedIn = phase;
          const res = await client
            .request('POST', '/api/v1/mobile/locations', { json: { points }, token, headers: { 'Idempotency-Key': `d${d}-b${b}` } })
            .catch(() => ({ status: 0, body: undefined }));
          statuses[startedIn][res.status] = (statuses[startedIn][res.status] ?? 0) + 1;
          if (res.status === 202) {
            acceptedPoints += POINTS_PER_BATCH;
            if (startedIn === 'after' && !firstAcceptedAfterRestart) firstAcceptedAfterRestart = Date.now();
            break;
          }
          expect([0, 503]).toContain(res.status);
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const ingest = Promise.all(drivers.map(phone));

    // Kill the master of the locations queue once ingest is well under way.
    await waitFor(async () => acceptedPoints >= 8 * 5 * POINTS_PER_BATCH || undefined, { timeoutMs: 60_000, what: 'ingest under way' });
    const killedAt = Date.now();
    phase = 'failover';
    await doomed.kill();
    // Its replica takes over (cluster-node-timeout 2 s plus the election)...
    await waitFor(async () => ((await cluster.masterOf(`{${prefix}:locations}:locations:id`)) !== doomed ? true : undefined), {
      timeoutMs: 30_000,
      what: 'a replica promoted',
    });
    const promotedAfterMs = Date.now() - killedAt;
    phase = 'alone';
    // ...and with no replica left in that shard, REDIS_WAIT_REPLICAS=1 refuses intake (503) until the
    // killed node is back, as a replica of the new master: the operator's (or Kubernetes') restart.
    await new Promise((r) => setTimeout(r, 2000));
    phase = 'after';
    const restartedAt = Date.now();
    await doomed.start();
    await cluster.waitHealthy();
    await ingest;

    const expected = drivers.length * BATCHES_PER_DRIVER * POINTS_PER_BATCH;
    expect(acceptedPoints).toBe(expected);
    await waitFor(async () => ((await storedPoints(db, ids)).distinct === expected ? true : undefined), {
      timeoutMs: 60_000,
      what: 'every accepted point stored',
    });
    const stored = await storedPoints(db, ids);
    expect(stored).toEqual({ rows: expected, distinct: expected });
    // Only 202 and 503 (or a connection cut) at any point: cluster routing errors are 503s, never 500s.
    for (const answers of Object.values(statuses)) for (const status of Object.keys(answers)) expect(['0', '202', '503']).toContain(status);
    // With its shard's only replica gone, the promoted master's writes reach no replica: nothing is
    // answered 202 until the killed node is back as its replica.
    expect(statuses.alone[503]).toBeGreaterThan(0);
    expect(statuses.alone[202]).toBeUndefined();
    expect(statuses.after[202]).toBeGreaterThan(0);
    // The same processes, never restarted, are healthy again.
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    const ready = await client.get('/api/v1/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.redis_cluster).toBe('ok');
    report('redis cluster failover', {
      accepted: acceptedPoints,
      stored: stored.rows,
      statuses,
      promotedAfterMs,
      acceptingAgainAfterRestartMs: firstAcceptedAfterRestart - restartedAt,
    });
  });
});

describe('a Redis Cluster shard with no master left', () => {
  it('answers 503 (not 500) and readiness says the cluster state failed, then heals when the nodes are back', async () => {
    const cluster = await startRedisCluster();
    cleanups.push(() => cluster.destroy());
    const uvis = await startTestUvis({ role: 'all', env: { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_COMMAND_TIMEOUT_MS: '1000' } });
    cleanups.push(() => uvis.stop());
    const admin = await uvis.api.login();
    const driver = await createDriverAccount(uvis.api, admin);
    const post = () => uvis.api.post('/api/v1/mobile/location', { latitude: 37.5, longitude: 127 }, driver.token);
    expect((await post()).status).toBe(202);

    // The locations master and its replica, both gone: no node can take over that shard.
    const master = await cluster.masterOf(`{${uvis.config.redisPrefix}:locations}:locations:id`);
    const replicaPort = await replicaOf(master.port);
    const replica = cluster.nodes.find((n) => n.port === replicaPort)!;
    await Promise.all([master.kill(), replica.kill()]);

    const during = await waitFor(
      async () => {
        const ready = await uvis.api.get('/api/v1/health/ready');
        return ready.body.checks?.redis_cluster === 'fail' ? ready : undefined;
      },
      { timeoutMs: 30_000, what: 'readiness to report the failed cluster state' },
    );
    expect(during.status).toBe(503);
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('service_unavailable');

    await Promise.all([master.start(), replica.start()]);
    await cluster.waitHealthy();
    await waitFor(async () => ((await uvis.api.get('/api/v1/health/ready')).status === 200 ? true : undefined), { timeoutMs: 30_000, what: 'ready again' });
    expect((await post()).status).toBe(202);
  });
});

/** The port of the replica that follows the master on `port`. */
async function replicaOf(port: number): Promise<number> {
  const redis = new Redis({ port, host: '127.0.0.1' });
  try {
    const info = await redis.info('replication');
    return Number(/slave0:ip=[^,]+,port=(\d+)/.exec(info)![1]);
  } finally {
    redis.disconnect();
  }
}
