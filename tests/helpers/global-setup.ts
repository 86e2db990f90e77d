/**
 * Once per test run: make sure PostgreSQL and Redis answer, and build one migrated
 * template database with the demo data. Each test file clones it (fast) into a
 * database of its own.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadDemoData } from '../../db/demo-data.js';
import { createDb } from '../../db/knex.js';
import { migrateLatest } from '../../db/migrate.js';
import { ensurePostgres, ensureRedis } from '../../lib/local-services.js';
import { baseUrls, newTemplateName, withAdminClient } from './databases.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { databaseUrl, redisUrl } = baseUrls();
  await ensurePostgres(databaseUrl);
  await ensureRedis(redisUrl);
  const TEMPLATE_DB = newTemplateName();
  await withAdminClient(async (client: pg.Client) => {
    await client.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
    await client.query(`create database ${TEMPLATE_DB} template template0 encoding 'UTF8' lc_collate 'C.UTF-8' lc_ctype 'C.UTF-8'`);
  });
  const url = new URL(databaseUrl);
  url.pathname = `/${TEMPLATE_DB}`;
  const db = createDb({ url: url.toString(), poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000 });
  try {
    await migrateLatest(db);
    await loadDemoData(db);
  } finally {
    await db.destroy();
  }
  project.provide('templateDb', TEMPLATE_DB);
  return async () => {
    await withAdminClient((client) => client.query(`drop database if exists ${TEMPLATE_DB} with (force)`)).catch(() => {});
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}
