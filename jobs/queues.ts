/** BullMQ Queue instances (producers), one per catalogue entry, sharing one fail-fast connection. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES, queueDefinition, queuePrefix, type QueueName } from './index.js';

export type Queues = Record<QueueName, Queue>;

export function createQueues(connection: Redis, redisPrefix: string): Queues {
  return Object.fromEntries(
    QUEUE_NAMES.map((name) => {
      const queue = new Queue(name, { connection, prefix: queuePrefix(redisPrefix, name), defaultJobOptions: queueDefinition(name).defaultJobOptions });
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
