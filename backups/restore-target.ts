/**
 * What a restore must keep or clean up around the database it replaces: the target's
 * own backup manifest (the dump holds the table, not its rows), and the queued jobs
 * that describe changes of the timeline the restore throws away.
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../db/knex.js';
import { existingUserIds } from '../db/users.js';

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
  const users = await existingUserIds(db, [...new Set(saved.rows.map((row) => row.requested_by as number).filter((id) => id != null))]);
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
