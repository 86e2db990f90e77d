/** pg_dump and pg_restore as child processes, streamed, with their errors surfaced. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import pg from 'pg';

export function pgBinary(name: 'pg_dump' | 'pg_restore', binDir?: string): string {
  return binDir ? join(binDir, name) : name;
}

/**
 * How pg_dump and pg_restore reach a database: the URL without its password as
 * --dbname, the password in PGPASSWORD. Command lines are visible to every user of
 * the machine (ps, /proc); the environment of a process is not.
 */
export function pgConnection(url: string): { dbnameArg: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { dbnameArg: `--dbname=${parsed.toString()}`, env: password ? { ...process.env, PGPASSWORD: password } : process.env };
}

/**
 * A command's standard output as a stream that ends only when the command exits 0
 * and errors otherwise: a consumer never sees a clean end of a dump (or archive)
 * that failed half-way.
 */
export function commandStream(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Readable {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout.pipe(out, { end: false });
  child.on('error', (err) => out.destroy(err));
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`${command} exited with ${code}: ${stderr.trim() || 'no message'}`));
  });
  // If the consumer gives up, do not leave the command running.
  out.on('close', () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  return out;
}

/** Runs pg_restore of a file into the database at url; rejects with its error output when it fails. */
export function pgRestore(url: string, file: string, options: string[], binDir?: string): Promise<void> {
  const { dbnameArg, env } = pgConnection(url);
  return new Promise((resolve, reject) => {
    const child = spawn(pgBinary('pg_restore', binDir), [...options, dbnameArg, file], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_restore exited with ${code}: ${stderr.trim() || 'no message'}`))));
  });
}

/** The tables whose row counts a backup records and a verification compares. */
export const COUNTED_TABLES = [
  'users',
  'clients',
  'drivers',
  'vehicles',
  'orders',
  'dispatches',
  'dispatch_status_history',
  'vehicle_locations',
  'driver_positions',
] as const;

export async function countRows(client: pg.Client): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of COUNTED_TABLES) {
    const { rows } = await client.query(`select count(*)::bigint as n from ${table}`);
    counts[table] = Number(rows[0].n);
  }
  return counts;
}

/**
 * Opens a repeatable-read transaction and exports its snapshot: pg_dump --snapshot
 * then dumps exactly what the counts taken here see, even while writes go on.
 */
export async function openSnapshot(url: string): Promise<{ snapshot: string; counts: Record<string, number>; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'uvis-backup-snapshot' });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const { rows } = await client.query('select pg_export_snapshot() as id');
    const counts = await countRows(client);
    return {
      snapshot: rows[0].id,
      counts,
      close: async () => {
        await client.query('commit').catch(() => {});
        await client.end();
      },
    };
  } catch (err) {
    await client.end();
    throw err;
  }
}
