/**
 * The job catalogue: every queue, its job names and payload types. Checked at
 * start-up so that every job has exactly one processor.
 */
import type { z } from 'zod';
import { QUEUE_NAMES, type QueueName } from '../lib/config.js';
import type { Processor, QueueDefinition, WorkerDeps } from './define.js';
import { backupsQueue } from './backups.js';
import { maintenanceQueue } from './maintenance.js';
import { dispatchesQueue } from './dispatches.js';
import { locationsQueue } from './locations.js';
import { ordersQueue } from './orders.js';

export const catalogue = {
  orders: ordersQueue,
  dispatches: dispatchesQueue,
  locations: locationsQueue,
  backups: backupsQueue,
  maintenance: maintenanceQueue,
} satisfies Record<QueueName, QueueDefinition>;

export type Catalogue = typeof catalogue;
export type JobName<Q extends QueueName> = keyof Catalogue[Q]['jobs'] & string;
export type JobData<Q extends QueueName, N extends JobName<Q>> = z.input<Catalogue[Q]['jobs'][N]>;

export function queueDefinition(name: QueueName): QueueDefinition {
  return catalogue[name] as unknown as QueueDefinition;
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
