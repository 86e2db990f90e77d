/**
 * The backup schedules, in the configured time zone (Asia/Seoul by default). Every
 * worker serving the backups queue runs them, and each tick enqueues a job whose id
 * is derived from the tick: however many replicas fire, BullMQ keeps one job, and the
 * manifest's unique tick key keeps one backup.
 */
import type { Queue } from 'bullmq';
import cron, { type ScheduledTask } from 'node-cron';
import type { BackupConfig } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';

export type ScheduleName = 'daily' | 'weekly' | 'verify' | 'retention';

/** The tick a schedule fired for, to the second: the same on every replica. */
export function tickOf(name: ScheduleName, scheduled: Date): { tick: string; jobId: string } {
  const seconds = Math.floor(scheduled.getTime() / 1000);
  return { tick: `${name}:${new Date(seconds * 1000).toISOString()}`, jobId: `${name}-${seconds}` };
}

export function startBackupSchedules(config: BackupConfig, queue: Queue, log: Logger): { stop: () => Promise<void> } {
  const plans: [ScheduleName, string, string, Record<string, unknown>][] = [
    ['daily', config.cron.daily, 'backup.run', { kind: 'daily' }],
    ['weekly', config.cron.weekly, 'backup.run', { kind: 'weekly' }],
    ['verify', config.cron.verify, 'backup.verify', {}],
    ['retention', config.cron.retention, 'backup.retention', {}],
  ];
  const tasks: ScheduledTask[] = plans.map(([name, expression, jobName, data]) =>
    cron.schedule(
      expression,
      async ({ date }) => {
        const { tick, jobId } = tickOf(name, date);
        try {
          await queue.add(jobName, { ...data, tick }, { jobId });
        } catch (err) {
          // Redis down at the tick: this tick is missed; the UvisBackupMissing alert says so.
          log.error({ err, schedule: name, tick }, 'could not enqueue scheduled backup job');
        }
      },
      { timezone: config.timezone, name: `uvis-backup-${name}` },
    ),
  );
  log.info({ timezone: config.timezone, cron: config.cron }, 'backup schedules started');
  return {
    stop: async () => {
      for (const task of tasks) await task.destroy();
    },
  };
}
