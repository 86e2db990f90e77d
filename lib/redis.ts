/**
 * Redis connections. Two kinds, because the API and the workers want opposite
 * things when Redis goes away: the API must fail fast (a 503 now beats a hung
 * request), while workers must wait and carry on when Redis is back.
 *
 * One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES): every Redis user
 * gets its connection here, so the switch is made in one place. Everything UVIS
 * sends is slot-safe: commands touch one key, or keys that share a hash tag (a
 * queue's keys, a cache entry's generation and value). The helpers below do what a
 * single command cannot do on a cluster: scan every master, load a script on every
 * master, and find the master (and the connection) that holds a key.
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisKind = 'client' | 'worker';

/** A connection to one Redis or to a Redis Cluster: both speak every command UVIS sends. */
export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  redisUrl: string;
  /** When set, the cluster's seed nodes; redisUrl is not used. */
  redisClusterNodes?: { host: string; port: number }[] | undefined;
}

export interface RedisConnectionOptions {
  commandTimeoutMs: number;
  name?: string;
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

export function createRedis(target: RedisTarget, kind: RedisKind, { commandTimeoutMs, name }: RedisConnectionOptions): RedisClient {
  // Reconnect quickly but never give up: Redis restarts (and failovers) should heal without a process restart.
  const retryStrategy = (times: number) => Math.min(times * 100, kind === 'client' ? 1000 : 2000);
  const perRequest: RedisOptions =
    kind === 'client'
      ? { maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs }
      : // BullMQ workers require maxRetriesPerRequest: null so blocking commands survive reconnects.
        { maxRetriesPerRequest: null };
  // On a single Redis the client kind sends the commands of one event-loop turn as one write (not
  // on a cluster, see createCluster): under load the API's
  // enqueues, cache reads and rate-limit scripts of many requests share a syscall (2.1 socket
  // writes per GPS post became 1.1, `npm run bench:profile`; a loopback write to Redis was a fifth
  // of the post's CPU). Order on the connection is kept, so WAIT still follows its enqueue.
  // Workers' connections keep one command per write: BullMQ's blocking commands and job locks
  // were not written for it (bull#2276).
  const autoPipelining = { enableAutoPipelining: kind === 'client' };
  const client = target.redisClusterNodes
    ? createCluster(target.redisClusterNodes, kind, retryStrategy, perRequest, name)
    : new Redis(target.redisUrl, {
        connectionName: name,
        connectTimeout: 2000,
        retryStrategy,
        enableOfflineQueue: kind === 'worker',
        ...perRequest,
        ...autoPipelining,
      });
  // Without a listener ioredis prints every reconnect failure to stderr; readiness reports it instead.
  client.on('error', () => {});
  return client;
}

function createCluster(
  nodes: { host: string; port: number }[],
  kind: RedisKind,
  retryStrategy: (times: number) => number,
  perRequest: RedisOptions,
  name: string | undefined,
): Cluster {
  const options: ClusterOptions = {
    // No auto-pipelining on a cluster: ioredis 5's cluster auto-pipeline threw "results[i] is not
    // iterable" (autoPipelining.js) outside any request on a burst of rate-limited sign-ins in the
    // cluster suite, and the burst was answered 503.
    enableAutoPipelining: false,
    // The client kind fails fast while the cluster has no route for a slot (a 503 the phone retries);
    // workers queue their commands and carry on once a replica has taken over.
    enableOfflineQueue: kind === 'worker',
    clusterRetryStrategy: retryStrategy,
    // After a failover the slots move to the promoted replica: look again soon, not every 5 s
    // (ioredis also refreshes on MOVED and on a lost node).
    slotsRefreshInterval: 1000,
    slotsRefreshTimeout: 2000,
    // CLUSTERDOWN and TRYAGAIN last as long as an election (cluster-node-timeout plus a little):
    // retry a few times quickly, and let the client kind's 503 answer the rest.
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    retryDelayOnFailover: 200,
    maxRedirections: kind === 'client' ? 8 : 32,
    redisOptions: { connectionName: name, connectTimeout: 2000, ...perRequest },
  };
  return new Cluster(nodes, options);
}

/** The connections to every master: the one Redis itself, or each master of the cluster. */
export function masters(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/**
 * The connection that carries commands for `key`: on a cluster, the master that holds its slot
 * (undefined while the cluster has no route for it). A command sent on it (WAIT, say) follows the
 * writes this client made to that key.
 */
export function connectionForKey(redis: RedisClient, key: string): Redis | undefined {
  if (!isCluster(redis)) return redis;
  const nodeKey = redis.slots[calculateSlot(key)]?.[0];
  return redis.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === nodeKey);
}

/** SCRIPT LOAD on every master, so EVALSHA finds the script wherever its key lives. Returns the SHA. */
export async function loadScriptEverywhere(redis: RedisClient, script: string): Promise<string> {
  const nodes = masters(redis);
  if (nodes.length === 0) throw new Error('Redis Cluster has no master to load a script on');
  const shas = await Promise.all(nodes.map((node) => node.script('LOAD', script) as Promise<string>));
  return shas[0]!;
}

/** PING on every master (the one Redis, or each master of the cluster); throws when there is none to ask. */
export async function pingMasters(redis: RedisClient): Promise<void> {
  const nodes = masters(redis);
  if (nodes.length === 0) throw new Error('no Redis master to ask');
  await Promise.all(nodes.map((node) => node.ping()));
}

/**
 * The cluster's own view (CLUSTER INFO on a master): cluster_state ok means every slot has a
 * master. Readiness reports it for a cluster.
 */
export async function clusterState(redis: Cluster): Promise<'ok' | 'fail'> {
  const [node] = masters(redis);
  if (!node) return 'fail';
  return /cluster_state:ok/.test(String(await node.cluster('INFO'))) ? 'ok' : 'fail';
}

/** True when a single-node connection (REDIS_URL) reached a node of a Redis Cluster: a misconfiguration. */
export async function isClusterNodeAlone(redis: RedisClient): Promise<boolean> {
  if (isCluster(redis)) return false;
  return /cluster_enabled:1/.test(await redis.info('cluster'));
}

/** Resolves when the connection is ready, or after timeoutMs (returns false) so start-up never hangs. */
export async function waitForRedis(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

/** Closes a connection politely, and forcibly if Redis does not answer. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(() => reject(new Error('quit timeout')), 1000))]);
  } catch {
    redis.disconnect();
  }
}

/**
 * Deletes every key of a deployment's prefix: queues ({prefix}:... and {prefix:queue}:...) and the
 * rest (prefix:...), on every master. Keys are deleted one per command: on a cluster, keys of
 * different slots may not share a DEL. For tests, benchmarks and restore.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<void> {
  for (const node of masters(redis)) {
    for (const pattern of [`{${prefix}}:*`, `{${prefix}:*}:*`, `${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) {
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.unlink(key);
          await pipeline.exec();
        }
      } while (cursor !== '0');
    }
  }
}
