/** The backup schedules: daily dump, weekly full backup, verification, retention. */
import type { Queue } from 'bullmq';
import type { BackupConfig } from '../lib/config.js';
import type { SchedulePlan } from '../workers/schedules.js';

export function backupSchedules(config: BackupConfig, queue: Queue): SchedulePlan[] {
  return [
    { name: 'daily', cron: config.cron.daily, queue, jobName: 'backup.run', data: { kind: 'daily' } },
    { name: 'weekly', cron: config.cron.weekly, queue, jobName: 'backup.run', data: { kind: 'weekly' } },
    { name: 'verify', cron: config.cron.verify, queue, jobName: 'backup.verify', data: {} },
    { name: 'retention', cron: config.cron.retention, queue, jobName: 'backup.retention', data: {} },
  ];
}
