/** Test databases: one per test file, cloned from the migrated template. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDb, type Db } from '../../db/knex.js';
import { createDatabase, databaseUrl, dropDatabase, withAdminConnection } from '../../db/ensure-database.js';

/** A fresh template name per test run, so two runs on one machine never trip over each other. */
export function newTemplateName(): string {
  return `uvis_tpl_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/**
 * Where the test services are: DATABASE_URL / REDIS_URL when set, else the local defaults.
 * REDIS_CLUSTER_NODES (set by tests/helpers/cluster-setup.ts for `npm run test:cluster`) puts
 * every Redis user of the run, the tests' own connections included, on a Redis Cluster.
 */
export function baseUrls(): { databaseUrl: string; redisUrl: string; redisClusterNodes: { host: string; port: number }[] | undefined } {
  return {
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisClusterNodes: process.env.REDIS_CLUSTER_NODES?.split(',').map((node) => {
      const [host, port] = node.split(':');
      return { host: host!, port: Number(port) };
    }),
  };
}

export function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withAdminConnection(baseUrls().databaseUrl, work);
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A database of the test file's own: a clone of the run's migrated template (or empty, with null). */
export async function createTestDatabase(template: string | null = inject('templateDb')): Promise<TestDatabase> {
  const name = `uvis_t_${randomBytes(5).toString('hex')}`;
  await withAdminClient((client) => createDatabase(client, name, template ?? 'template0'));
  return {
    name,
    url: databaseUrl(baseUrls().databaseUrl, name),
    drop: () => withAdminClient((client) => dropDatabase(client, name)),
  };
}

/**
 * The test file's own database with a knex pool on it, made before its tests and
 * dropped after them. Read `.db` and `.database` inside tests and hooks.
 */
export function useTestDb(pool: { poolMax?: number; statementTimeoutMs?: number } = {}): { readonly db: Db; readonly database: TestDatabase } {
  let database: TestDatabase | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, poolMin: 0, poolMax: pool.poolMax ?? 4, statementTimeoutMs: pool.statementTimeoutMs ?? 10_000 });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('useTestDb: the database is made in beforeAll');
      return db;
    },
    get database() {
      if (!database) throw new Error('useTestDb: the database is made in beforeAll');
      return database;
    },
  };
}
