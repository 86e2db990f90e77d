/**
 * A real Redis Cluster of the test's own: 3 masters and 3 replicas, each a `redis-server`
 * (Debian's) on a free port with append-only files, joined by `redis-cli --cluster create`.
 * Tests kill a master and watch its replica take over; nothing here imitates Redis.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './api-client.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';

const run = promisify(execFile);

export interface RedisCluster {
  nodes: PrivateRedis[];
  /** REDIS_CLUSTER_NODES for UVIS: every node, host:port, comma-separated. */
  seeds: string;
  /** The node that is master of the key's slot now. */
  masterOf(key: string): Promise<PrivateRedis>;
  /** Resolves once every slot is served and every replica is in sync with its master (as the live nodes see it). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/** How long a master may be silent before its replica is promoted: short, so failover tests finish in seconds. */
export const CLUSTER_NODE_TIMEOUT_MS = 2000;

async function ask<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: PrivateRedis[] = [];
  for (let i = 0; i < 6; i += 1) {
    nodes.push(
      await startPrivateRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS)]),
    );
  }
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  // The first three become masters, each of the last three a replica of one of them.
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);

  const alive = async () => {
    const up: PrivateRedis[] = [];
    for (const node of nodes) if (await ask(node.port, (r) => r.ping()).catch(() => undefined)) up.push(node);
    return up;
  };
  const cluster: RedisCluster = {
    nodes,
    seeds: addresses.join(','),
    async masterOf(key) {
      const [first] = await alive();
      if (!first) throw new Error('no cluster node answers');
      const port = await ask(first.port, async (redis) => {
        const slot = Number(await redis.cluster('KEYSLOT', key));
        const ranges = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        return range?.[2][1];
      });
      const master = nodes.find((node) => node.port === port);
      if (!master) throw new Error(`no master serves the slot of ${key}`);
      return master;
    },
    async waitHealthy(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const up = await alive();
          for (const node of up) {
            const healthy = await ask(node.port, async (redis) => {
              const info = String(await redis.cluster('INFO'));
              if (!/cluster_state:ok/.test(info)) return false;
              const replication = await redis.info('replication');
              return !/role:slave/.test(replication) || /master_link_status:up/.test(replication);
            }).catch(() => false);
            if (!healthy) return undefined;
          }
          return up.length > 0 ? true : undefined;
        },
        { timeoutMs, what: 'the Redis Cluster to be healthy' },
      );
    },
    async destroy() {
      await Promise.allSettled(nodes.map((node) => node.destroy()));
    },
  };
  await cluster.waitHealthy();
  return cluster;
}
