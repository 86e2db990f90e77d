/** Test databases: one per test file, cloned from the migrated template. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabase, databaseUrl, dropDatabase, withAdminConnection } from '../../db/ensure-database.js';

/** A fresh template name per test run, so two runs on one machine never trip over each other. */
export function newTemplateName(): string {
  return `uvis_tpl_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** Where the test services are: DATABASE_URL / REDIS_URL when set, else the local defaults. */
export function baseUrls(): { databaseUrl: string; redisUrl: string } {
  return {
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
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
