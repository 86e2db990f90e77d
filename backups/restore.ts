/**
 * Getting a backup back: fetch an artifact into a temporary file while checking its
 * SHA-256 against the manifest (a damaged or truncated backup is refused before
 * anything is touched), then pg_restore it into a database.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { hashing } from './checksum.js';
import type { BackupRow } from './manifest.js';
import { pgRestore } from './pg-tools.js';
import { BackupNotFoundError, type BackupStorage } from './storage.js';

export class DamagedBackupError extends Error {}

export interface FetchedArtifact {
  path: string;
  /** Deletes the temporary copy. */
  cleanup: () => Promise<void>;
}

/** Downloads the database dump (or the files archive) from the first target that has it, verifying its checksum. */
export async function fetchVerified(storages: BackupStorage[], backup: BackupRow, artifact: 'database' | 'files' = 'database'): Promise<FetchedArtifact> {
  const key = artifact === 'database' ? backup.location : backup.files_location;
  const expected = artifact === 'database' ? backup.sha256 : backup.files_sha256;
  if (!key || !expected) throw new BackupNotFoundError(`backup ${backup.id} has no ${artifact} artifact`);
  const dir = await mkdtemp(join(tmpdir(), 'uvis-restore-'));
  const path = join(dir, artifact === 'database' ? 'backup.dump' : 'files.tar.gz');
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const available = storages.filter((s) => backup.targets.includes(s.name));
  let lastError: unknown = new BackupNotFoundError(`backup ${backup.id} is on none of the configured targets (${backup.targets.join(', ') || 'none'})`);
  for (const storage of available) {
    try {
      const { stream, digest } = hashing(await storage.get(key));
      await pipeline(stream, createWriteStream(path, { mode: 0o600 }));
      const actual = digest();
      if (actual !== expected) {
        throw new DamagedBackupError(`backup ${backup.id} on ${storage.name} is damaged: SHA-256 ${actual} does not match the manifest's ${expected}`);
      }
      return { path, cleanup };
    } catch (err) {
      lastError = err;
    }
  }
  await cleanup();
  throw lastError;
}

/** Restores a verified dump file into the database at url, replacing the objects it contains. */
export async function restoreDump(file: string, databaseUrl: string, binDir?: string): Promise<void> {
  await pgRestore(databaseUrl, file, ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error'], binDir);
}
