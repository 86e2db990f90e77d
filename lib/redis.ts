/**
 * Redis connections. Two kinds, because the API and the workers want opposite
 * things when Redis goes away: the API must fail fast (a 503 now beats a hung
 * request), while workers must wait and carry on when Redis is back.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisKind = 'client' | 'worker';

export interface RedisConnectionOptions {
  commandTimeoutMs: number;
  name?: string;
}

export function createRedis(url: string, kind: RedisKind, { commandTimeoutMs, name }: RedisConnectionOptions): Redis {
  const common: RedisOptions = {
    connectionName: name,
    connectTimeout: 2000,
    // Reconnect quickly but never give up: Redis restarts should heal without a process restart.
    retryStrategy: (times) => Math.min(times * 100, kind === 'client' ? 1000 : 2000),
  };
  const options: RedisOptions =
    kind === 'client'
      ? { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs }
      : // BullMQ workers require maxRetriesPerRequest: null so blocking commands survive reconnects.
        { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null };
  const redis = new Redis(url, options);
  // Without a listener ioredis prints every reconnect failure to stderr; readiness reports it instead.
  redis.on('error', () => {});
  return redis;
}

/** Resolves when the connection is ready, or after timeoutMs (returns false) so start-up never hangs. */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<boolean> {
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
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(() => reject(new Error('quit timeout')), 1000))]);
  } catch {
    redis.disconnect();
  }
}

/** Deletes every key of a deployment's prefix: queues ({prefix}:...) and the rest (prefix:...). For tests and benchmarks. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of [`{${prefix}}:*`, `${prefix}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  }
}
