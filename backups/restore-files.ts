/**
 * Unpacking a weekly backup's uploaded files. UPLOADS_DIR is checked for writing before
 * the database is touched, so a read-only or missing folder stops the restore with
 * nothing changed (the archive itself was already checked against its SHA-256); the
 * files are unpacked once the database restore has succeeded.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Throws unless files can be created in dir (made if missing). */
export async function assertWritable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await rm(await mkdtemp(join(dir, '.restore-probe-')), { recursive: true });
}

/** Unpacks the archive over dir: files newer than the backup stay. */
export async function unpackFiles(archive: string, dir: string): Promise<void> {
  await promisify(execFile)('tar', ['-xzf', archive, '-C', dir]);
}
