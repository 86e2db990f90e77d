/** Test databases: one per test file, cloned from the migrated template. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

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

export async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(baseUrls().databaseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A database of the test file's own: a clone of the run's migrated template (or empty, with null). */
export async function createTestDatabase(template: string | null = inject('templateDb')): Promise<TestDatabase> {
  const name = `uvis_t_${randomBytes(5).toString('hex')}`;
  await withAdminClient((client) =>
    client.query(
      template
        ? `create database ${name} template ${template}`
        : `create database ${name} template template0 encoding 'UTF8' lc_collate 'C.UTF-8' lc_ctype 'C.UTF-8'`,
    ),
  );
  const url = new URL(baseUrls().databaseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
