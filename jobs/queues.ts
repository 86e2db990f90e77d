/** BullMQ Queue instances (producers), one per catalogue entry, sharing one fail-fast connection. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES, type QueueName } from '../lib/config.js';
import { queueDefinition } from './index.js';

export type Queues = Record<QueueName, Queue>;

/** Backup and maintenance jobs carry file locations and operational detail: admins only, as the backups API is. */
export const ADMIN_ONLY_QUEUES: readonly string[] = ['backups', 'maintenance'];

export function createQueues(connection: Redis, prefix: string): Queues {
  return Object.fromEntries(
    QUEUE_NAMES.map((name) => {
      const queue = new Queue(name, { connection, prefix, defaultJobOptions: queueDefinition(name).defaultJobOptions });
      // Connection errors reach callers as failed calls (a 503, a relay retry). Without a
      // listener BullMQ prints every reconnect attempt to stderr, outside the JSON logs.
      queue.on('error', () => {});
      return [name, queue];
    }),
  ) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.allSettled(Object.values(queues).map((q) => q.close()));
}
