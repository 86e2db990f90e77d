/**
 * Liveness (the container health check) and readiness (PostgreSQL and Redis answer; 503 while
 * draining). On a Redis Cluster every master must answer and the cluster must say its state is ok
 * (every slot has a master), reported as checks.redis_cluster.
 */
import { z } from 'zod';
import { pingDatabase } from '../../db/knex.js';
import { clusterState, isCluster, pingMasters } from '../../lib/redis.js';
import { withTimeout } from '../../lib/timeout.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';

const Health = z.object({ status: z.string() }).meta({ id: 'Health' });
const Readiness = z.object({ status: z.enum(['ready', 'unavailable', 'draining']), checks: z.record(z.string(), z.string()) }).meta({ id: 'Readiness' });

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await withTimeout(probe(), 1000, () => new Error('timeout'));
    return 'ok';
  } catch (err) {
    return err instanceof Error && err.message === 'timeout' ? 'timeout' : 'down';
  }
}

export function healthRoutes({ db, redis, lifecycle }: AppDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/health',
      summary: 'Liveness: the process answers',
      tags: ['health'],
      auth: 'public',
      responses: { 200: { description: 'Alive', schema: Health } },
      handler: async () => reply(200, { status: 'ok' }),
    }),
    defineRoute({
      method: 'get',
      path: '/health/ready',
      summary: 'Readiness: PostgreSQL and Redis answer and the process is not draining',
      tags: ['health'],
      auth: 'public',
      responses: {
        200: { description: 'Ready for traffic', schema: Readiness },
        503: { description: 'A dependency is down, or the process is shutting down', schema: Readiness },
      },
      handler: async () => {
        const [database, queue, cluster] = await Promise.all([
          check(() => pingDatabase(db)),
          // Every master: on a cluster, one that does not answer holds slots nobody can write.
          check(() => pingMasters(redis)),
          isCluster(redis) ? clusterState(redis).catch(() => 'down') : undefined,
        ]);
        const checks = { database, redis: queue, ...(cluster ? { redis_cluster: cluster } : {}) };
        if (lifecycle.draining) return reply(503, { status: 'draining', checks });
        const ok = database === 'ok' && queue === 'ok' && (cluster ?? 'ok') === 'ok';
        return reply(ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', checks });
      },
    }),
  ];
}
