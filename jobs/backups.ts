/** backups queue: database backups (daily, weekly full, on demand), their verification and retention. */
import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { createStorages } from '../backups/storage-targets.js';
import { sweepBackupLeftovers } from '../backups/leftovers.js';
import { applyRetention } from '../backups/retention.js';
import { runBackup, type BackupContext } from '../backups/run-backup.js';
import { verifyBackup } from '../backups/verify-backup.js';
import { lazy } from '../lib/lazy.js';
import { defineQueue } from './define.js';

export const BackupRun = z.object({
  kind: z.enum(['daily', 'weekly', 'manual']),
  tick: z.string().max(100).optional(),
  requestedBy: z.number().int().positive().optional(),
});
const Tick = z.object({ tick: z.string().max(100).optional() });

export const backupsQueue = defineQueue({
  name: 'backups',
  jobs: { 'backup.run': BackupRun, 'backup.verify': Tick, 'backup.retention': Tick },
  defaultJobOptions: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 60_000 },
    // Kept for 45 days: finished jobs are the history operators see in Bull Board, and
    // a scheduled job's id (from its tick) must outlive any replica that fires late.
    removeOnComplete: { age: 45 * 86_400 },
    removeOnFail: { age: 45 * 86_400 },
  },
  // One heavy job at a time per worker; more replicas do not make dumps faster.
  concurrency: () => 1,
  createProcessor: ({ db, config, log }) => {
    // At start-up, in the background: leftovers of runs that died with an earlier process.
    sweepBackupLeftovers({ db, config, log }).catch((err: unknown) => log.warn({ err }, 'backup leftovers sweep failed'));
    // Made on first use: most processes never run a backup job.
    const ctx = lazy(
      async (): Promise<BackupContext> => ({
        db,
        databaseUrl: config.databaseUrl,
        config: config.backup,
        storages: await createStorages(config.backup),
        log: log.child({ component: 'backups' }),
      }),
    );
    return {
      handlers: {
        'backup.run': async ({ kind, tick, requestedBy }, { job }) => {
          const result = await runBackup(await ctx(), { kind, tickKey: tick, jobId: String(job.id), requestedBy });
          return 'skipped' in result ? result : { backupId: result.id, sizeBytes: result.size_bytes, sha256: result.sha256 };
        },
        'backup.verify': async () => {
          const result = await verifyBackup(await ctx());
          // Recorded on the backup first; failing the job puts it in Bull Board's failed set
          // (no retry: the same dump fails the same way) and in the job failure metrics.
          if ('passed' in result && !result.passed) {
            throw new UnrecoverableError(`backup ${result.backupId} failed verification: ${result.mismatches.join('; ')}`.slice(0, 2000));
          }
          return result;
        },
        'backup.retention': async () => applyRetention(await ctx()),
      },
    };
  },
});
