/**
 * One backup run: a custom-format pg_dump of a consistent snapshot, streamed to the
 * first storage target with its SHA-256 computed on the way, copied to the other
 * targets, and (weekly) the uploaded files as a tar.gz. The manifest row records
 * what was made, or why it failed; a failed run leaves no artifact behind.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Db } from '../db/knex.js';
import type { BackupConfig } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { hashing } from './checksum.js';
import { ownerTag } from './leftovers.js';
import { PROOF_FOLDER, stageProofs } from './proof-files.js';
import { claimBackup, finishBackup, getBackup, type BackupKind, type BackupRow } from './manifest.js';
import { commandStream, openSnapshot, pgBinary, pgConnection } from './pg-tools.js';
import { artifactKey, type BackupStorage } from './storage.js';
import { INCOMING_UPLOADS } from './proof-storage.js';

export interface BackupContext {
  db: Db;
  /** The database reached directly (DATABASE_DIRECT_URL): pg_dump and its snapshot need sessions of their own. */
  databaseUrl: string;
  config: BackupConfig;
  storages: BackupStorage[];
  log: Logger;
  /** Where proof images are kept (proof-storage.ts): a remote one's images are copied into the weekly archive. */
  proofStorage?: BackupStorage;
}

export interface BackupRequest {
  kind: BackupKind;
  /** The schedule tick, for scheduled runs: one backup per tick. */
  tickKey?: string;
  jobId: string;
  requestedBy?: number;
}

interface Artifact {
  key: string;
  size: number;
  sha256: string;
}

async function store(
  storages: BackupStorage[],
  key: string,
  makeStream: () => Readable,
  written: { storage: BackupStorage; key: string }[],
): Promise<Artifact> {
  const [primary, ...copies] = storages;
  const { stream, digest } = hashing(makeStream());
  written.push({ storage: primary!, key });
  const size = await primary!.put(key, stream);
  const sha256 = digest();
  for (const copy of copies) {
    written.push({ storage: copy, key });
    await copy.put(key, await primary!.get(key));
  }
  return { key, size, sha256 };
}

export async function runBackup(ctx: BackupContext, request: BackupRequest): Promise<{ skipped: string } | BackupRow> {
  const claimed = await claimBackup(ctx.db, { id: randomUUID(), ...request });
  if (!claimed) return { skipped: `tick ${request.tickKey} already has its backup` };
  const log = ctx.log.child({ backupId: claimed.id, kind: request.kind });
  const written: { storage: BackupStorage; key: string }[] = [];
  let dump: Artifact;
  let files: Artifact | undefined;
  let counts: Record<string, number>;
  try {
    ({ dump, files, counts } = await makeArtifacts(ctx, request.kind, claimed, written));
  } catch (err) {
    // Nothing half-written may look like a backup.
    for (const { storage, key } of written) await storage.delete(key).catch(() => {});
    const message = err instanceof Error ? err.message : String(err);
    await finishBackup(ctx.db, claimed.id, { status: 'failed', error: message.slice(0, 2000) }).catch(() => {});
    log.error({ err }, 'backup failed');
    throw err;
  }
  // The artifacts are complete. From here on they are never deleted: if marking the row
  // fails, the update may still have committed (a connection lost after COMMIT), and a
  // succeeded row must never point at a deleted file. A row left 'running' is taken over
  // by the job's retry, which writes a fresh set, or marked failed by the leftovers sweep
  // once its job is no longer active (leftovers.ts).
  await finishBackup(ctx.db, claimed.id, {
    status: 'succeeded',
    location: dump.key,
    size_bytes: dump.size,
    sha256: dump.sha256,
    files_location: files?.key ?? null,
    files_size_bytes: files?.size ?? null,
    files_sha256: files?.sha256 ?? null,
    targets: ctx.storages.map((s) => s.name),
    table_counts: counts,
    error: null,
  });
  log.info({ bytes: dump.size, files: files?.size }, 'backup succeeded');
  return (await getBackup(ctx.db, claimed.id))!;
}

/** The dump (and, weekly, the uploaded files) on every target, with the snapshot's row counts. */
async function makeArtifacts(ctx: BackupContext, kind: BackupKind, claimed: BackupRow, written: { storage: BackupStorage; key: string }[]) {
  const { config } = ctx;
  const snapshot = await openSnapshot(ctx.databaseUrl);
  const connection = pgConnection(ctx.databaseUrl);
  let dump: Artifact;
  try {
    dump = await store(
      ctx.storages,
      artifactKey(kind, claimed.id, claimed.started_at, 'dump', config.timezone),
      () =>
        commandStream(
          pgBinary('pg_dump', config.pgBinDir),
          [
            '--format=custom',
            `--snapshot=${snapshot.snapshot}`,
            '--no-owner',
            '--no-privileges',
            // The manifest describes backups; restoring it from a backup would rewrite history.
            '--exclude-table-data=backups',
            connection.dbnameArg,
          ],
          connection.env,
        ),
      written,
    );
  } finally {
    await snapshot.close();
  }
  let files: Artifact | undefined;
  if (kind === 'weekly') {
    await mkdir(config.uploadsDir, { recursive: true });
    // Proof images in S3 join the archive under proofs/ (kept locally, they are in UPLOADS_DIR already).
    const remote = ctx.proofStorage && ctx.proofStorage.name !== 'local' ? ctx.proofStorage : undefined;
    const staged = remote ? await stageProofs(ctx.db, remote, ownerTag(ctx.databaseUrl), ctx.log) : undefined;
    try {
      files = await store(
        ctx.storages,
        artifactKey(kind, claimed.id, claimed.started_at, 'tar.gz', config.timezone),
        // Uploads still being received (api/proof-upload.ts) are not files yet.
        () =>
          commandStream('tar', [
            '-czf',
            '-',
            `--exclude=./${INCOMING_UPLOADS}`,
            '-C',
            config.uploadsDir,
            '.',
            ...(staged ? ['-C', staged.dir, PROOF_FOLDER] : []),
          ]),
        written,
      );
    } finally {
      await staged?.cleanup();
    }
  }
  return { dump, files, counts: snapshot.counts };
}
