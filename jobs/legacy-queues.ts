/**
 * Jobs left under the queue layout before per-queue hash tags, when every queue's keys
 * shared `{REDIS_PREFIX}`. Workers of this release read only `{REDIS_PREFIX:queue}`, so
 * such jobs would wait forever: the upgrade is "drain, then switch" (docs/operations.md),
 * and a worker that finds jobs there says so loudly at start-up instead of silently.
 */
import { Queue } from 'bullmq';
import type { RedisClient } from '../lib/redis.js';
import { SHARED_HASH_TAG, keyPrefix } from './define.js';
import { QUEUE_NAMES, type QueueName } from './index.js';

/** Jobs still to run (waiting, prioritized, delayed, active, waiting for children) per queue under the old layout; queues without any are left out. */
export async function legacyQueueJobs(
  connection: RedisClient,
  redisPrefix: string,
  names: readonly QueueName[] = QUEUE_NAMES,
): Promise<Partial<Record<QueueName, number>>> {
  const found: Partial<Record<QueueName, number>> = {};
  for (const name of names) {
    const queue = new Queue(name, { connection, prefix: keyPrefix(redisPrefix, SHARED_HASH_TAG) });
    queue.on('error', () => {});
    try {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'waiting-children');
      const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (total > 0) found[name] = total;
    } finally {
      await queue.close();
    }
  }
  return found;
}
