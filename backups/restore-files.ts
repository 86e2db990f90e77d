/**
 * Unpacking a weekly backup's uploaded files. They are unpacked into a staging folder
 * inside UPLOADS_DIR before the database is touched, so an unwritable folder or a bad
 * archive stops the restore with nothing changed; the files go into place only after
 * the database restore has succeeded.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface StagedFiles {
  /** Unpacks the archive over UPLOADS_DIR (files newer than the backup stay) and removes the staging folder. */
  putInPlace: () => Promise<void>;
  discard: () => Promise<void>;
}

export async function stageFiles(archive: string, uploadsDir: string): Promise<StagedFiles> {
  await mkdir(uploadsDir, { recursive: true });
  const staging = await mkdtemp(join(uploadsDir, '.restore-'));
  const discard = () => rm(staging, { recursive: true, force: true });
  try {
    await execFileAsync('tar', ['-xzf', archive, '-C', staging]);
  } catch (err) {
    await discard();
    throw err;
  }
  return {
    putInPlace: async () => {
      await discard();
      await execFileAsync('tar', ['-xzf', archive, '-C', uploadsDir]);
    },
    discard,
  };
}
