/** The backup manifest table: one row per backup run. */
import type { Db } from '../db/knex.js';

export type BackupKind = 'daily' | 'weekly' | 'manual';

export interface BackupRow {
  id: string;
  kind: BackupKind;
  tick_key: string | null;
  job_id: string | null;
  status: 'running' | 'succeeded' | 'failed' | 'expired';
  started_at: Date;
  finished_at: Date | null;
  location: string | null;
  size_bytes: number | null;
  sha256: string | null;
  files_location: string | null;
  files_size_bytes: number | null;
  files_sha256: string | null;
  targets: string[];
  table_counts: Record<string, number> | null;
  error: string | null;
  requested_by: number | null;
  verified_at: Date | null;
  verification_status: 'passed' | 'failed' | null;
  verification_error: string | null;
  expired_at: Date | null;
}

/**
 * Claims a backup run. For a scheduled tick, the first claimant wins and the others
 * get undefined; a retry of the same job may take its own failed or interrupted run over.
 */
export async function claimBackup(
  db: Db,
  run: { id: string; kind: BackupKind; tickKey?: string; jobId: string; requestedBy?: number },
): Promise<BackupRow | undefined> {
  const rows: BackupRow[] = await db
    .raw(
      `insert into backups (id, kind, tick_key, job_id, status, requested_by)
     values (?, ?, ?, ?, 'running', ?)
     on conflict (tick_key) do update
       set status = 'running', started_at = now(), error = null, finished_at = null
       where backups.job_id = excluded.job_id and backups.status <> 'succeeded'
     returning *`,
      [run.id, run.kind, run.tickKey ?? null, run.jobId, run.requestedBy ?? null],
    )
    .then((r) => r.rows);
  return rows[0];
}

export async function finishBackup(db: Db, id: string, result: Partial<BackupRow>): Promise<void> {
  await db('backups')
    .where({ id })
    .update({ ...result, finished_at: db.fn.now() });
}

export function getBackup(db: Db, id: string): Promise<BackupRow | undefined> {
  return db('backups').where({ id }).first();
}

/** Succeeded and not proven broken: verified, or not verified yet. */
export function restorable(db: Db) {
  return db('backups')
    .where({ status: 'succeeded' })
    .where((q) => q.whereNull('verification_status').orWhereNot('verification_status', 'failed'));
}

/** The newest backup that can be restored (`restore latest`): one that failed verification is skipped. */
export function latestGoodBackup(db: Db): Promise<BackupRow | undefined> {
  return restorable(db).orderBy('started_at', 'desc').first();
}

/** The newest backup made, whatever its verification: the one verification must prove. */
export function newestSucceededBackup(db: Db): Promise<BackupRow | undefined> {
  return db('backups').where({ status: 'succeeded' }).orderBy('started_at', 'desc').first();
}

export function listBackups(db: Db, limit: number): Promise<BackupRow[]> {
  return db('backups').orderBy('started_at', 'desc').limit(limit);
}

export async function lastSuccessTimes(db: Db): Promise<{ backup: Date | null; verification: Date | null }> {
  const row = await db('backups').first(
    db.raw(`max(finished_at) filter (where status in ('succeeded', 'expired')) as backup`),
    db.raw(`max(verified_at) filter (where verification_status = 'passed') as verification`),
  );
  return { backup: row?.backup ?? null, verification: row?.verification ?? null };
}

export function toBackup(row: BackupRow) {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    started_at: row.started_at,
    finished_at: row.finished_at,
    size_bytes: row.size_bytes,
    sha256: row.sha256,
    location: row.location,
    files_location: row.files_location,
    files_size_bytes: row.files_size_bytes,
    targets: row.targets,
    table_counts: row.table_counts,
    error: row.error,
    verified_at: row.verified_at,
    verification_status: row.verification_status,
    verification_error: row.verification_error,
    expired_at: row.expired_at,
  };
}
