/**
 * npm run restore -- <backup id | latest> [--yes] [--database <name or postgres:// URL>] [--files]
 *
 * Checks the backup's SHA-256 first and refuses a damaged or unknown backup with
 * nothing changed; asks for confirmation unless --yes; restores into the configured
 * database (DATABASE_URL) or the one named. --files also unpacks a weekly backup's
 * uploaded files into UPLOADS_DIR. Stop the API and workers before restoring into
 * the live database: the restore then also removes the queued order and dispatch
 * events of the discarded timeline.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { getBackup, latestGoodBackup, type BackupRow } from '../backups/manifest.js';
import { ownerTag } from '../backups/leftovers.js';
import { DamagedBackupError, fetchVerified, restoreDump } from '../backups/restore.js';
import { BackupNotFoundError } from '../backups/storage.js';
import { createStorages } from '../backups/storage-targets.js';
import { databaseName, databaseUrl, dropDatabase, ensureDatabase, isSafeDatabaseName, withAdminConnection } from '../db/ensure-database.js';
import { createDb, type Db } from '../db/knex.js';
import { ConfigError, loadConfig, type Config } from '../lib/config.js';
import { closeRedis, createRedis, waitForRedis } from '../lib/redis.js';
import { closeQueues, createQueues } from '../jobs/queues.js';
import { assertWritable, unpackFiles } from '../backups/restore-files.js';
import { pushRestoredProofs } from '../backups/proof-files.js';
import { createProofStorage } from '../backups/proof-storage.js';
import { databaseIdentity, discardManifest, putManifestBack, saveManifest } from '../backups/restore-target.js';
import { rekeyUnpublished } from '../db/outbox.js';
import { clearTimelineJobs, TIMELINE_QUEUES } from '../jobs/timeline-jobs.js';
import { requeuePendingDeliveries } from '../jobs/webhooks.js';

const USAGE = 'usage: npm run restore -- <backup id | latest> [--yes] [--database <name or postgres:// URL>] [--files]';

/** Exit codes: 2 usage or unknown backup, 3 damaged backup, 4 refused at the prompt, 1 anything else. */
class RestoreError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function targetUrl(configured: string, database?: string): string {
  if (!database) return configured;
  if (/^postgres(ql)?:\/\//.test(database)) return database;
  if (!isSafeDatabaseName(database)) throw new RestoreError(`--database: "${database}" is neither a database name nor a postgres:// URL`, 2);
  return databaseUrl(configured, database);
}

const describe = (url: string) => {
  const u = new URL(url);
  return `${databaseName(url)} on ${u.hostname}:${u.port || 5432}`;
};

async function confirm(backup: BackupRow, target: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new RestoreError('refusing to restore without confirmation: run it in a terminal or pass --yes', 4);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const name = databaseName(target);
  const answer = await rl.question(
    `This replaces the data in database ${describe(target)} with backup ${backup.id} (${backup.kind}, ${backup.started_at.toISOString()}).\nType the database name (${name}) to continue: `,
  );
  rl.close();
  return answer.trim() === name;
}

/**
 * After restoring the live database: its queued order, dispatch and webhook jobs belong to the
 * discarded timeline; the restored database's pending webhook deliveries get their jobs again.
 */
async function clearStaleJobs(config: Config, db: Db): Promise<string> {
  const redis = createRedis(config, 'client', { commandTimeoutMs: 5000, name: 'uvis-restore' });
  const queues = createQueues(redis, config.redisPrefix);
  const which = TIMELINE_QUEUES.join(', ');
  try {
    if (!(await waitForRedis(redis, 5000))) throw new Error(`Redis at ${config.redisUrl} does not answer`);
    const removed = await clearTimelineJobs(queues);
    const requeued = await requeuePendingDeliveries(db, queues.webhooks!);
    return `; removed ${removed} queued jobs of the discarded timeline (${which}); queued ${requeued} pending webhook deliveries again`;
  } catch (err) {
    return `; WARNING: could not clear the queued jobs of the discarded timeline (${which}) or queue the pending webhook deliveries again (${err instanceof Error ? err.message : String(err)}): remove their waiting, delayed and failed jobs in Bull Board before starting the workers`;
  } finally {
    await closeQueues(queues);
    await closeRedis(redis);
  }
}

async function main(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { yes: { type: 'boolean', default: false }, database: { type: 'string' }, files: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new RestoreError(USAGE, 2);
  const which = positionals[0]!;
  if (which !== 'latest' && !/^[0-9a-f-]{36}$/i.test(which)) throw new RestoreError(`"${which}" is not a backup id (a UUID) or "latest"\n${USAGE}`, 2);

  const config = loadConfig();
  // Checked with the other arguments, before anything is read or fetched.
  // pg_restore and the database it may create need a session of their own: not through PgBouncer.
  const target = targetUrl(config.databaseDirectUrl, values.database);
  const db = createDb({ url: config.databaseDirectUrl, poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000, applicationName: 'uvis-restore' });
  try {
    const backup = which === 'latest' ? await latestGoodBackup(db) : await getBackup(db, which);
    if (!backup) throw new RestoreError(which === 'latest' ? 'there is no successful backup to restore' : `no backup with id ${which}`, 2);
    if (backup.status !== 'succeeded')
      throw new RestoreError(`backup ${backup.id} is ${backup.status}${backup.error ? ` (${backup.error})` : ''}; only a succeeded backup can be restored`, 2);
    if (values.files && !backup.files_location) throw new RestoreError(`backup ${backup.id} has no uploaded files (only weekly backups do)`, 2);

    const storages = await createStorages(config.backup);
    // Checksums first: a damaged backup is refused before anything is touched.
    const dump = await fetchVerified(storages, backup, { owner: ownerTag(config.databaseDirectUrl) }).catch((err: unknown) => {
      if (err instanceof DamagedBackupError) throw new RestoreError(`${err.message}; nothing was changed`, 3);
      if (err instanceof BackupNotFoundError) throw new RestoreError(`${err.message}; nothing was changed`, 2);
      throw err;
    });
    const files = values.files
      ? await fetchVerified(storages, backup, { artifact: 'files', owner: ownerTag(config.databaseDirectUrl) }).catch(async (err: unknown) => {
          await dump.cleanup();
          throw err instanceof DamagedBackupError ? new RestoreError(`${err.message}; nothing was changed`, 3) : err;
        })
      : undefined;
    // Said before anything else happens: a copy that was passed over needs the operator's attention.
    for (const fetched of [dump, files]) {
      if (fetched?.passedOver.length)
        process.stderr.write(`restore: warning: passed over ${fetched.passedOver.join('; ')}; using the copy on ${fetched.source}\n`);
    }
    try {
      if (!values.yes && !(await confirm(backup, target))) throw new RestoreError('not confirmed; nothing was changed', 4);
      // Checked before the database is touched: an unwritable UPLOADS_DIR stops here.
      if (files) {
        await assertWritable(config.backup.uploadsDir).catch((err: unknown) => {
          throw new RestoreError(
            `cannot unpack the files into ${config.backup.uploadsDir}: ${err instanceof Error ? err.message : String(err)}; nothing was changed`,
            1,
          );
        });
      }
      let targetDb: ReturnType<typeof createDb> | undefined;
      try {
        const created = await ensureDatabase(target);
        targetDb = createDb({ url: target, poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000, applicationName: 'uvis-restore' });
        const live = (await databaseIdentity(targetDb)) === (await databaseIdentity(db));
        const manifest = await saveManifest(targetDb);
        await restoreDump(dump.path, target, config.backup.pgBinDir).catch(async (err: unknown) => {
          await discardManifest(manifest); // nothing was replaced: the copy is not needed
          // pg_restore ran in one transaction, rolled back; a database made for it goes again.
          // A failure to drop it is told after pg_restore's own error, never instead of it.
          let dropped = '';
          if (created) {
            await targetDb?.destroy();
            targetDb = undefined;
            dropped = await withAdminConnection(target, (c) => dropDatabase(c, databaseName(target))).then(
              () => `, and database ${databaseName(target)} made for it was dropped again`,
              (dropErr: unknown) =>
                `; database ${databaseName(target)} made for it is empty and could not be dropped (${dropErr instanceof Error ? dropErr.message : String(dropErr)})`,
            );
          }
          throw new RestoreError(
            `${err instanceof Error ? err.message : String(err)}; nothing was changed (the restore ran in one transaction, rolled back${dropped})`,
            1,
          );
        });
        await rekeyUnpublished(targetDb);
        await putManifestBack(targetDb, manifest).catch((err: unknown) => {
          throw new Error(
            `restored, but the backup manifest could not be put back (${err instanceof Error ? err.message : String(err)}); its rows are in ${manifest.file}`,
          );
        });
        let proofs = '';
        if (files) {
          await unpackFiles(files.path, config.backup.uploadsDir);
          // Proof images kept in S3 came back in the archive: they go back into the bucket.
          if (config.proofs.storage !== 'local') {
            const pushed = await pushRestoredProofs(config.backup.uploadsDir, await createProofStorage(config));
            proofs = `, ${pushed} proof images back into the proof storage (${config.proofs.storage})`;
          }
        }
        const jobs = live ? await clearStaleJobs(config, targetDb) : '';
        return `restored backup ${backup.id} (${backup.kind}, ${backup.started_at.toISOString()}) from ${dump.source} into ${describe(target)}${files ? ` and its files into ${config.backup.uploadsDir}${proofs}` : ''}${jobs}`;
      } finally {
        await targetDb?.destroy();
      }
    } finally {
      await dump.cleanup();
      await files?.cleanup();
    }
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (message) => {
    process.stdout.write(`${message}\n`);
  },
  (err: unknown) => {
    if (err instanceof RestoreError || err instanceof ConfigError) {
      process.stderr.write(`restore: ${err.message}\n`);
      process.exit(err instanceof RestoreError ? err.exitCode : 2);
    }
    process.stderr.write(`restore failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
