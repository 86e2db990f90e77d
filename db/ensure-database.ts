/**
 * Server-level database work (creating and dropping databases): through the
 * `postgres` maintenance database of the server a URL points at.
 */
import pg from 'pg';

const SAFE_NAME = /^[A-Za-z0-9_-]+$/;

/** Names this project creates or accepts on a command line: no quoting needed anywhere. */
export const isSafeDatabaseName = (name: string) => SAFE_NAME.test(name);

/** The same server and credentials, another database. */
export function databaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Runs `work` on a connection to the server's maintenance database. */
export async function withAdminConnection<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl(url, 'postgres'), connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty UTF-8 database. template0 with an explicit C.UTF-8 locale: pg_trgm
 * must see Hangul as word characters, whatever the server's default locale is.
 */
export async function createDatabase(client: pg.Client, name: string, template = 'template0'): Promise<void> {
  if (!isSafeDatabaseName(name) || !isSafeDatabaseName(template)) throw new Error(`refusing unusual database name "${name}"`);
  await client.query(
    template === 'template0'
      ? `create database "${name}" template template0 encoding 'UTF8' lc_collate 'C.UTF-8' lc_ctype 'C.UTF-8'`
      : `create database "${name}" template "${template}"`,
  );
}

export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  if (!SAFE_NAME.test(name)) throw new Error(`refusing unusual database name "${name}"`);
  await client.query(`drop database if exists "${name}" with (force)`);
}

/** Creates the database a URL names when it does not exist yet (development and tests); true when it did. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = databaseName(url);
  return withAdminConnection(url, async (client) => {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await createDatabase(client, name);
    return true;
  });
}
