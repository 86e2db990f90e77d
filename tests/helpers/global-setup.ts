/**
 * Once per test run: make sure PostgreSQL and Redis answer, and build one migrated
 * template database with the demo data. Each test file clones it (fast) into a
 * database of its own.
 */
import type { TestProject } from 'vitest/node';
import { loadDemoData } from '../../db/demo-data.js';
import { createDatabase, databaseUrl as databaseUrlOf, dropDatabase } from '../../db/ensure-database.js';
import { createDb } from '../../db/knex.js';
import { migrateLatest } from '../../db/migrate.js';
import { ensurePostgres, ensureRedis } from '../../lib/local-services.js';
import { baseUrls, newTemplateName, withAdminClient } from './databases.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { databaseUrl, redisUrl } = baseUrls();
  await ensurePostgres(databaseUrl);
  await ensureRedis(redisUrl);
  const TEMPLATE_DB = newTemplateName();
  await withAdminClient(async (client) => {
    await dropDatabase(client, TEMPLATE_DB);
    await createDatabase(client, TEMPLATE_DB);
  });
  const db = createDb({ url: databaseUrlOf(databaseUrl, TEMPLATE_DB), poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000 });
  try {
    await migrateLatest(db);
    await loadDemoData(db);
  } finally {
    await db.destroy();
  }
  project.provide('templateDb', TEMPLATE_DB);
  return async () => {
    await withAdminClient((client) => dropDatabase(client, TEMPLATE_DB)).catch(() => {});
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}
