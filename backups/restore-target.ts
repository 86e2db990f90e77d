/**
 * What a restore must keep or clean up around the database it replaces: the target's
 * own backup manifest (the dump holds the table, not its rows), and the queued jobs
 * that describe changes of the timeline the restore throws away.
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../db/knex.js';

/**
 * Names a database by what the server says, not by how a URL spells it (localhost,
 * 127.0.0.1 and :5432 all reach the same one): its name and the server's start time.
 */
export async function databaseIdentity(db: Db): Promise<string> {
  const { rows } = await db.raw(`select current_database() || '@' || pg_postmaster_start_time()::text as identity`);
  return rows[0].identity;
}

export interface SavedManifest {
  rows: Record<string, unknown>[];
  /** A copy on disk, so the rows survive a crash between the restore and putting them back. */
  file: string | undefined;
}

export async function saveManifest(db: Db): Promise<SavedManifest> {
  const { rows: exists } = await db.raw(`select to_regclass('backups') is not null as present`);
  if (!exists[0].present) return { rows: [], file: undefined };
  const rows: Record<string, unknown>[] = await db('backups').select('*');
  if (rows.length === 0) return { rows, file: undefined };
  const file = join(tmpdir(), `uvis-manifest-${Date.now()}.json`);
  await writeFile(file, JSON.stringify(rows), { mode: 0o600 });
  return { rows, file };
}

export async function putManifestBack(db: Db, saved: SavedManifest): Promise<void> {
  if (saved.rows.length === 0) return;
  // Who asked for a backup may not exist in the restored data: keep the row, drop that link.
  const users = new Set<number>(await db('users').pluck('id'));
  await db('backups')
    .insert(
      saved.rows.map((row) => ({
        ...row,
        requested_by: users.has(row.requested_by as number) ? row.requested_by : null,
        table_counts: row.table_counts ? JSON.stringify(row.table_counts) : null,
      })),
    )
    .onConflict('id')
    .ignore();
  await discardManifest(saved);
}

export async function discardManifest(saved: SavedManifest): Promise<void> {
  if (saved.file) await rm(saved.file, { force: true });
}

/**
 * Outbox rows that were waiting when the backup was taken come back with their old
 * job_key, and Redis may still hold a finished job of that id (it was relayed after
 * the backup): BullMQ would silently ignore the new add, and the change would never
 * be processed in the restored data. New keys make them new jobs.
 */
export async function rekeyUnpublished(db: Db): Promise<number> {
  return db('outbox').whereNull('published_at').update({ job_key: db.raw('gen_random_uuid()') });
}
