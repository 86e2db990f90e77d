/**
 * The job catalogue: every queue, one line each. A queue's file (jobs/<queue>.ts)
 * holds everything about it; everything else (queue names, worker selection, Redis
 * key prefixes, schedules, who may see its jobs, Bull Board) is derived from here.
 * Checked at start-up so that every job has exactly one processor.
 */
import type { z } from 'zod';
import { ConfigError, type Config } from '../lib/config.js';
import { keyPrefix, type Processor, type QueueDefinition, type ScheduleSpec, type WorkerDeps } from './define.js';
import { backupsQueue } from './backups.js';
import { maintenanceQueue } from './maintenance.js';
import { dispatchesQueue } from './dispatches.js';
import { locationsQueue } from './locations.js';
import { ordersQueue } from './orders.js';
import { telemetryQueue } from './telemetry.js';
import { webhooksQueue } from './webhooks.js';

export const catalogue = {
  orders: ordersQueue,
  dispatches: dispatchesQueue,
  locations: locationsQueue,
  telemetry: telemetryQueue,
  webhooks: webhooksQueue,
  backups: backupsQueue,
  maintenance: maintenanceQueue,
};

export type Catalogue = typeof catalogue;
export type QueueName = keyof Catalogue & string;
export type JobName<Q extends QueueName> = keyof Catalogue[Q]['jobs'] & string;
export type JobData<Q extends QueueName, N extends JobName<Q>> = z.input<Catalogue[Q]['jobs'][N]>;

export const QUEUE_NAMES = Object.keys(catalogue) as [QueueName, ...QueueName[]];

export function queueDefinition(name: QueueName): QueueDefinition {
  return catalogue[name] as unknown as QueueDefinition;
}

export function isQueueName(name: string): name is QueueName {
  return Object.hasOwn(catalogue, name);
}

/** The BullMQ key prefix of a queue, from its hash tag. */
export function queuePrefix(redisPrefix: string, name: QueueName): string {
  return keyPrefix(redisPrefix, queueDefinition(name).hashTag);
}

/** Whether a dispatcher may see the queue's jobs; admins see every queue. */
export function dispatcherMaySee(name: string): boolean {
  return isQueueName(name) && queueDefinition(name).dispatcherVisible;
}

/** The queues a worker serves: WORKER_QUEUES (every queue when unset), checked against the catalogue. */
export function workerQueues(configured: readonly string[] | undefined): QueueName[] {
  if (!configured) return [...QUEUE_NAMES];
  const unknown = configured.filter((q) => !isQueueName(q));
  if (unknown.length > 0) throw new ConfigError([`WORKER_QUEUES: unknown queue(s) ${unknown.join(', ')}; known: ${QUEUE_NAMES.join(', ')}`]);
  return configured as QueueName[];
}

/** The schedules of the given queues, each with the queue it enqueues on. */
export function queueSchedules(config: Config, queues: readonly QueueName[]): (ScheduleSpec & { queue: QueueName })[] {
  return queues.flatMap((queue) => (queueDefinition(queue).schedules?.(config) ?? []).map((spec) => ({ ...spec, queue })));
}

/** Throws when a queue has no definition, a job has no handler, or a handler has no job. */
export function checkCatalogue(deps: WorkerDeps, queues: readonly QueueName[] = QUEUE_NAMES): Map<QueueName, Processor<Record<string, z.ZodType>>> {
  const problems: string[] = [];
  const processors = new Map<QueueName, Processor<Record<string, z.ZodType>>>();
  for (const name of queues) {
    const definition = queueDefinition(name);
    if (!definition || definition.name !== name) {
      problems.push(`queue ${name}: no definition in jobs/`);
      continue;
    }
    const processor = definition.createProcessor(deps);
    const jobs = Object.keys(definition.jobs).sort();
    const handlers = Object.keys(processor.handlers).sort();
    for (const job of jobs) if (!handlers.includes(job)) problems.push(`queue ${name}: job ${job} has no handler`);
    for (const handler of handlers) if (!jobs.includes(handler)) problems.push(`queue ${name}: handler ${handler} has no job schema`);
    processors.set(name, processor);
  }
  if (problems.length > 0) throw new Error(`job catalogue is inconsistent:\n  ${problems.join('\n  ')}`);
  return processors;
}
