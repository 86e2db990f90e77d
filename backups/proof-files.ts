/**
 * Proof images in the weekly backup when they live in S3 (PROOF_STORAGE=s3). Kept locally they are
 * in UPLOADS_DIR and in the archive already; in S3 they are copied into a temporary folder under
 * `proofs/` and archived beside UPLOADS_DIR, and a restore with --files puts them back into the
 * bucket. Every proof the database lists at that moment is copied; one whose image is missing is
 * reported, not fatal (the backup of everything else must not fail for it).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../db/knex.js';
import { proofKeysAfter } from '../db/proofs.js';
import type { Logger } from '../lib/logger.js';
import { tempCopyPrefix } from './leftovers.js';
import { PROOF_KEY_PREFIX } from './proof-storage.js';
import { BackupNotFoundError, type BackupStorage } from './storage.js';

/** The folder proofs take inside UPLOADS_DIR and inside a files archive. */
export const PROOF_FOLDER = PROOF_KEY_PREFIX.replace(/\/$/, '');

export interface StagedProofs {
  /** Holds `proofs/...`: archive it with `-C dir proofs`. */
  dir: string;
  copied: number;
  missing: string[];
  cleanup: () => Promise<void>;
}

/** Copies every listed proof's image from a remote storage into a temporary folder (swept by leftovers.ts if a crash leaves it). */
export async function stageProofs(db: Db, storage: BackupStorage, owner: string, log: Logger): Promise<StagedProofs> {
  const dir = await mkdtemp(join(tmpdir(), tempCopyPrefix(owner)));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const staged: StagedProofs = { dir, copied: 0, missing: [], cleanup };
  try {
    await mkdir(join(dir, PROOF_FOLDER), { recursive: true });
    for (let after = 0; ;) {
      const page = await proofKeysAfter(db, after, 500);
      if (page.length === 0) break;
      for (const { storage_key: key } of page) {
        const target = join(dir, key);
        // Keys come from our own rows, but a key must never write outside the folder all the same.
        if (!target.startsWith(join(dir, PROOF_FOLDER) + sep)) throw new Error(`refusing a proof key outside ${PROOF_FOLDER}/: ${key}`);
        await mkdir(dirname(target), { recursive: true });
        try {
          await pipeline(await storage.get(key), createWriteStream(target, { mode: 0o600 }));
          staged.copied++;
        } catch (err) {
          if (!(err instanceof BackupNotFoundError)) throw err;
          await rm(target, { force: true });
          staged.missing.push(key);
        }
      }
      after = page[page.length - 1]!.id;
    }
    if (staged.missing.length)
      log.error({ missing: staged.missing.slice(0, 20), count: staged.missing.length }, 'proof images listed in the database are missing from storage');
    return staged;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Every file below dir, as paths relative to it with / separators. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string) => {
    for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && !entry.name.endsWith('.partial')) out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out;
}

/**
 * After a restore unpacked an archive into UPLOADS_DIR: the proof images it brought go back into the
 * remote proof storage (those it lacks), and the local copies are removed, so the next weekly backup
 * does not carry them twice. Returns how many were uploaded.
 */
export async function pushRestoredProofs(uploadsDir: string, storage: BackupStorage): Promise<number> {
  const folder = join(uploadsDir, PROOF_FOLDER);
  if (!(await stat(folder).catch(() => undefined))?.isDirectory()) return 0;
  let pushed = 0;
  for (const rel of await filesBelow(folder)) {
    const key = `${PROOF_KEY_PREFIX}${rel}`;
    if (!(await storage.exists(key))) {
      await storage.put(key, createReadStream(join(folder, rel)));
      pushed++;
    }
  }
  await rm(folder, { recursive: true, force: true });
  return pushed;
}
