/**
 * Cron schedules that enqueue jobs, in the configured time zone (Asia/Seoul by
 * default). Every worker serving a scheduled queue runs them; each tick enqueues a
 * job whose id comes from the tick, so however many replicas fire, BullMQ keeps one
 * job (and jobs that must be singular, like backups, also guard by tick in the database).
 */
import type { Queue } from 'bullmq';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../lib/logger.js';
import type { ScheduleSpec } from './define.js';

/** A queue's schedule (from its catalogue entry) with the Queue it enqueues on. */
export interface SchedulePlan extends ScheduleSpec {
  queue: Queue;
}

/** The tick a schedule fired for, to the second: the same on every replica. */
export function tickOf(name: string, scheduled: Date): { tick: string; jobId: string } {
  const seconds = Math.floor(scheduled.getTime() / 1000);
  return { tick: `${name}:${new Date(seconds * 1000).toISOString()}`, jobId: `${name}-${seconds}` };
}

export function startSchedules(plans: SchedulePlan[], timezone: string, log: Logger): { stop: () => Promise<void> } {
  const tasks: ScheduledTask[] = plans.map((plan) =>
    cron.schedule(
      plan.cron,
      async ({ date }) => {
        const { tick, jobId } = tickOf(plan.name, date);
        try {
          await plan.queue.add(plan.jobName, { ...plan.data, tick }, { jobId });
        } catch (err) {
          // Redis down at the tick: this tick is missed, and says so (for backups, so does the alert).
          log.error({ err, schedule: plan.name, tick }, 'could not enqueue a scheduled job');
        }
      },
      { timezone, name: `uvis-${plan.name}` },
    ),
  );
  log.info({ timezone, schedules: plans.map((p) => `${p.name} ${p.cron}`) }, 'schedules started');
  return {
    stop: async () => {
      for (const task of tasks) await task.destroy();
    },
  };
}
