/** backups queue: database backups (daily, weekly full, on demand), their verification and retention. */
import { Queue, UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { createProofStorage } from '../backups/proof-storage.js';
import { createStorages } from '../backups/storage-targets.js';
import { sweepLeftovers, type JobStateOf, type SweepResult } from '../backups/leftovers.js';
import { applyRetention } from '../backups/retention.js';
import { runBackup, type BackupContext } from '../backups/run-backup.js';
import { verifyBackup } from '../backups/verify-backup.js';
import { lazy } from '../lib/lazy.js';
import { closeRedis, createRedis, waitForRedis } from '../lib/redis.js';
import { defineQueue, keyPrefix, type WorkerDeps } from './define.js';

export const BackupRun = z.object({
  kind: z.enum(['daily', 'weekly', 'manual']),
  tick: z.string().max(100).optional(),
  requestedBy: z.number().int().positive().optional(),
});
const Tick = z.object({ tick: z.string().max(100).optional() });

export const backupsQueue = defineQueue({
  name: 'backups',
  description: '데이터베이스 백업 · database backups',
  hashTag: 'backups',
  // Backup jobs carry file locations and operational detail: admins only, as the backups API is.
  dispatcherVisible: false,
  schedules: ({ backup }) => [
    { name: 'daily', cron: backup.cron.daily, jobName: 'backup.run', data: { kind: 'daily' } },
    { name: 'weekly', cron: backup.cron.weekly, jobName: 'backup.run', data: { kind: 'weekly' } },
    { name: 'verify', cron: backup.cron.verify, jobName: 'backup.verify', data: {} },
    { name: 'retention', cron: backup.cron.retention, jobName: 'backup.retention', data: {} },
  ],
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
    // Made on first use: most processes never run a backup job.
    const ctx = lazy(async (): Promise<BackupContext> => ({
      db,
      databaseUrl: config.databaseDirectUrl,
      config: config.backup,
      storages: await createStorages(config.backup),
      log: log.child({ component: 'backups' }),
      proofStorage: await createProofStorage(config),
    }));
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

/**
 * The leftovers sweep (backups/leftovers.ts) with what a worker has: its configuration,
 * database and logger. Job states come from this queue over a connection of its own, closed afterwards.
 */
export async function sweepBackupLeftovers(deps: Pick<WorkerDeps, 'db' | 'config' | 'log'>): Promise<SweepResult> {
  const { config } = deps;
  const redis = createRedis(config, 'client', { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'uvis-backup-sweep' });
  const queue = new Queue(backupsQueue.name, { connection: redis, prefix: keyPrefix(config.redisPrefix, backupsQueue.hashTag) });
  queue.on('error', () => {});
  try {
    const jobState: JobStateOf = async (jobId) => {
      if (!(await waitForRedis(redis, 5000))) throw new Error('Redis does not answer: job states unknown');
      return queue.getJobState(jobId);
    };
    return await sweepLeftovers({
      db: deps.db,
      databaseUrl: config.databaseDirectUrl,
      backupDir: config.backup.dir,
      jobState,
      log: deps.log.child({ component: 'backup-sweep' }),
    });
  } finally {
    await queue.close().catch(() => {});
    await closeRedis(redis);
  }
}
