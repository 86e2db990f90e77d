/**
 * Once per test run: make sure PostgreSQL and Redis answer, and build one migrated
 * template database with the demo data. Each test file clones it (fast) into a
 * database of its own.
 *
 * UVIS_TEST_PGBOUNCER=1 (`npm run test:pgbouncer`): the run also starts a PgBouncer in transaction
 * mode in front of PostgreSQL and points DATABASE_URL at it, so every UVIS process and test pool
 * goes through it, while UVIS_TEST_DIRECT_DATABASE_URL keeps reaching PostgreSQL itself (creating and
 * dropping databases, the template, pg_dump). The test files are forked after this runs and
 * inherit both.
 */
import type { TestProject } from 'vitest/node';
import { loadDemoData } from '../../db/demo-data.js';
import { createDatabase, databaseName, databaseUrl as databaseUrlOf, dropDatabase } from '../../db/ensure-database.js';
import { createDb } from '../../db/knex.js';
import { migrateLatest } from '../../db/migrate.js';
import { ensurePostgres, ensureRedis } from '../../lib/local-services.js';
import { baseUrls, newTemplateName, withAdminClient } from './databases.js';
import { startPgBouncer, type PgBouncer } from './pgbouncer.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { directDatabaseUrl, redisUrl } = baseUrls();
  await ensurePostgres(directDatabaseUrl);
  await ensureRedis(redisUrl);
  const bouncer = process.env.UVIS_TEST_PGBOUNCER === '1' ? await routeThroughPgBouncer(directDatabaseUrl) : undefined;
  const TEMPLATE_DB = newTemplateName();
  await withAdminClient(async (client) => {
    await dropDatabase(client, TEMPLATE_DB);
    await createDatabase(client, TEMPLATE_DB);
  });
  // Directly: PostgreSQL refuses to copy a template while anything (a pooler's idle connection) is on it.
  const db = createDb({ url: databaseUrlOf(directDatabaseUrl, TEMPLATE_DB), poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000 });
  try {
    await migrateLatest(db);
    await loadDemoData(db);
  } finally {
    await db.destroy();
  }
  project.provide('templateDb', TEMPLATE_DB);
  return async () => {
    await withAdminClient((client) => dropDatabase(client, TEMPLATE_DB)).catch(() => {});
    await bouncer?.stop();
  };
}

async function routeThroughPgBouncer(directUrl: string): Promise<PgBouncer> {
  const bouncer = await startPgBouncer({ serverUrl: directUrl });
  process.env.UVIS_TEST_DIRECT_DATABASE_URL = directUrl;
  process.env.UVIS_TEST_PGBOUNCER_ADMIN_URL = bouncer.urlFor('pgbouncer');
  process.env.DATABASE_URL = bouncer.urlFor(databaseName(directUrl));
  process.stdout.write(`PgBouncer (transaction mode) on 127.0.0.1:${bouncer.port}: DATABASE_URL=${process.env.DATABASE_URL}\n`);
  return bouncer;
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}
