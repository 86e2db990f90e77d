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
import { tempCopyPrefix } from './leftovers.js';
import type { BackupTarget } from '../lib/config.js';
import type { BackupRow } from './manifest.js';
import { pgRestore } from './pg-tools.js';
import { BackupNotFoundError, type BackupStorage } from './storage.js';

export class DamagedBackupError extends Error {}

export interface FetchedArtifact {
  path: string;
  /** The target the good copy came from. */
  source: BackupTarget;
  /** Why each target tried before it was passed over (damaged, missing, unreachable): empty when the first served. */
  passedOver: string[];
  /** Deletes the temporary copy. */
  cleanup: () => Promise<void>;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Downloads the database dump (or the files archive) from the first target whose copy
 * matches the manifest's SHA-256; a damaged, missing or unreachable copy is passed over
 * for the next target, and the result says which copies were and why. When no copy
 * serves, the error is a DamagedBackupError if any copy was damaged (the manifest's
 * checksum is the authority), a BackupNotFoundError if every copy is missing.
 */
export async function fetchVerified(
  storages: BackupStorage[],
  backup: BackupRow,
  options: { artifact?: 'database' | 'files'; /** ownerTag() of the deployment's database: names the temporary copy. */ owner: string },
): Promise<FetchedArtifact> {
  const artifact = options.artifact ?? 'database';
  const key = artifact === 'database' ? backup.location : backup.files_location;
  const expected = artifact === 'database' ? backup.sha256 : backup.files_sha256;
  if (!key || !expected) throw new BackupNotFoundError(`backup ${backup.id} has no ${artifact} artifact`);
  const available = storages.filter((s) => backup.targets.includes(s.name));
  if (available.length === 0)
    throw new BackupNotFoundError(`backup ${backup.id} is on none of the configured targets (${backup.targets.join(', ') || 'none'})`);
  // Swept by leftovers.ts when a crash leaves it behind.
  const dir = await mkdtemp(join(tmpdir(), tempCopyPrefix(options.owner)));
  const path = join(dir, artifact === 'database' ? 'backup.dump' : 'files.tar.gz');
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const failures: { target: BackupTarget; error: unknown }[] = [];
  for (const storage of available) {
    try {
      const { stream, digest } = hashing(await storage.get(key));
      await pipeline(stream, createWriteStream(path, { mode: 0o600 }));
      const actual = digest();
      if (actual !== expected) {
        throw new DamagedBackupError(`backup ${backup.id} on ${storage.name} is damaged: SHA-256 ${actual} does not match the manifest's ${expected}`);
      }
      const passedOver = failures.map((f) => `${f.target}: ${messageOf(f.error)}`);
      return { path, source: storage.name, passedOver, cleanup };
    } catch (err) {
      failures.push({ target: storage.name, error: err });
    }
  }
  await cleanup();
  if (failures.length === 1) throw failures[0]!.error;
  const summary = `no copy of backup ${backup.id} is usable: ${failures.map((f) => `${f.target}: ${messageOf(f.error)}`).join('; ')}`;
  if (failures.some((f) => f.error instanceof DamagedBackupError)) throw new DamagedBackupError(summary);
  if (failures.every((f) => f.error instanceof BackupNotFoundError)) throw new BackupNotFoundError(summary);
  throw new Error(summary);
}

/** Restores a verified dump file into the database at url, replacing the objects it contains. */
export async function restoreDump(file: string, databaseUrl: string, binDir?: string): Promise<void> {
  await pgRestore(databaseUrl, file, ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error'], binDir);
}
