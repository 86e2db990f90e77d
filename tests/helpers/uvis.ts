/**
 * Starts a real UVIS (API and/or workers) in the test process, on its own database
 * and Redis prefix, listening on a free port. Tests talk to it over real HTTP.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig, type Config, type ProcessRole } from '../../lib/config.js';
import { startUvis, type RunningUvis } from '../../app/start.js';
import { closeRedis, createRedis, deleteKeysWithPrefix, type RedisClient, type RedisKind } from '../../lib/redis.js';
import { createTestDatabase, baseUrls, type TestDatabase } from './databases.js';
import { ApiClient } from './api-client.js';

export interface TestUvisOptions {
  role?: ProcessRole;
  env?: Record<string, string>;
  /** Reuse a database (e.g. a second process on the same data); a fresh clone otherwise. */
  database?: TestDatabase;
  /** Reuse a Redis prefix (a second process of the same deployment). */
  prefix?: string;
}

export interface TestUvis {
  config: Config;
  running: RunningUvis;
  database: TestDatabase;
  api: ApiClient;
  baseUrl: string;
  /** Every JSON log line written so far. */
  logs: Record<string, unknown>[];
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export function testConfig(database: TestDatabase, prefix: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    DATABASE_DIRECT_URL: database.directUrl,
    REDIS_URL: baseUrls().redisUrl,
    ...(process.env.REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES } : {}),
    REDIS_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    OUTBOX_POLL_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '10000',
    DB_POOL_MAX: '10',
    ...env,
  });
}

export function newPrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/** A connection of the test's own to the run's Redis (a single one, or the cluster of `npm run test:cluster`). */
export function testRedis(kind: RedisKind = 'worker'): RedisClient {
  return createRedis(baseUrls(), kind, { commandTimeoutMs: 5000, name: 'uvis-test' });
}

/** Deletes every key of a test prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = testRedis();
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    await closeRedis(redis);
  }
}

export async function startTestUvis(options: TestUvisOptions = {}): Promise<TestUvis> {
  const database = options.database ?? (await createTestDatabase());
  const prefix = options.prefix ?? newPrefix();
  const config = testConfig(database, prefix, options.env);
  const logs: Record<string, unknown>[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      callback();
    },
  });
  const running = await startUvis(config, { role: options.role ?? 'all', logDestination });
  const baseUrl = running.port ? `http://127.0.0.1:${running.port}` : '';
  return {
    config,
    running,
    database,
    api: new ApiClient(baseUrl),
    baseUrl,
    logs,
    async stop({ keepData = false } = {}) {
      await running.shutdown.run('test finished');
      if (!keepData) {
        await database.drop();
        await deleteRedisPrefix(prefix);
      }
    },
  };
}
