/** Test databases: one per test file, cloned from the migrated template. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDb, type Db } from '../../db/knex.js';
import { createDatabase, databaseUrl, dropDatabase, isSafeDatabaseName, withAdminConnection } from '../../db/ensure-database.js';

/** A fresh template name per test run, so two runs on one machine never trip over each other. */
export function newTemplateName(): string {
  return `uvis_tpl_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/**
 * Where the test services are: DATABASE_URL / REDIS_URL when set, else the local defaults.
 * directDatabaseUrl (UVIS_TEST_DIRECT_DATABASE_URL, else DATABASE_URL) reaches PostgreSQL itself: it differs
 * when the run goes through PgBouncer (UVIS_TEST_PGBOUNCER=1, tests/helpers/global-setup.ts).
 * REDIS_CLUSTER_NODES (set by tests/helpers/cluster-setup.ts for `npm run test:cluster`) puts
 * every Redis user of the run, the tests' own connections included, on a Redis Cluster.
 */
export function baseUrls(): {
  databaseUrl: string;
  directDatabaseUrl: string;
  redisUrl: string;
  redisClusterNodes: { host: string; port: number }[] | undefined;
} {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  return {
    databaseUrl,
    directDatabaseUrl: process.env.UVIS_TEST_DIRECT_DATABASE_URL ?? databaseUrl,
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisClusterNodes: process.env.REDIS_CLUSTER_NODES?.split(',').map((node) => {
      const [host, port] = node.split(':');
      return { host: host!, port: Number(port) };
    }),
  };
}

/** A connection to the server's maintenance database, past PgBouncer (CREATE and DROP DATABASE, settings). */
export function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withAdminConnection(baseUrls().directDatabaseUrl, work);
}

/**
 * When the run goes through PgBouncer: closes its server connections to a database (they stay open,
 * idle, after their clients leave), so that no backend of a stopped UVIS lingers. Only once nothing
 * connects to it: PgBouncer 1.18 stalls a pool told to RECONNECT while its first server connection
 * logs in, for server_login_retry (15 s). Nothing to do without PgBouncer.
 */
export async function closePooledConnections(name: string): Promise<void> {
  const admin = process.env.UVIS_TEST_PGBOUNCER_ADMIN_URL;
  if (!admin) return;
  if (!isSafeDatabaseName(name)) throw new Error(`refusing unusual database name "${name}"`);
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`RECONNECT ${name}`);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  /** The way UVIS reaches it (through PgBouncer when the run goes through one). */
  url: string;
  /** PostgreSQL itself: for what needs a session (pg_dump, ALTER DATABASE, pg_terminate_backend). */
  directUrl: string;
  drop(): Promise<void>;
}

/** A database of the test file's own: a clone of the run's migrated template (or empty, with null). */
export async function createTestDatabase(template: string | null = inject('templateDb')): Promise<TestDatabase> {
  const name = `uvis_t_${randomBytes(5).toString('hex')}`;
  await withAdminClient((client) => createDatabase(client, name, template ?? 'template0'));
  return {
    name,
    url: databaseUrl(baseUrls().databaseUrl, name),
    directUrl: databaseUrl(baseUrls().directDatabaseUrl, name),
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
