/** BullMQ Queue instances (producers), one per catalogue entry, sharing one fail-fast connection. */
import { Queue } from 'bullmq';
import { UnavailableError } from '../lib/errors/index.js';
import { connectionForKey, type RedisClient } from '../lib/redis.js';
import { QUEUE_NAMES, queueDefinition, queuePrefix, type QueueName } from './index.js';

export type Queues = Record<QueueName, Queue>;

export function createQueues(connection: RedisClient, redisPrefix: string): Queues {
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

/** REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS: how many replicas must hold a job before it counts as accepted. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

/**
 * Waits until `wait.replicas` replicas hold everything this connection wrote to the queue's master
 * (Redis WAIT, sent on the very connection that carried the add: a queue's keys share one hash tag,
 * so one master holds them all). Throws a 503 when fewer acknowledge in time: the job is on the
 * master but could still be lost with it, so the client keeps its data and retries (the same job id).
 */
export async function awaitReplicas(connection: RedisClient, queue: Queue, wait: ReplicaWait): Promise<void> {
  if (wait.replicas === 0) return;
  const master = connectionForKey(connection, queue.toKey('id'));
  if (!master) throw new UnavailableError('queue', 'the queue has no reachable Redis master right now; retry shortly', 1);
  const acknowledged = await master.wait(wait.replicas, wait.timeoutMs);
  if (acknowledged < wait.replicas) {
    throw new UnavailableError(
      'queue',
      `queued, but only ${acknowledged} of ${wait.replicas} Redis replicas confirmed it in time; retry with the same Idempotency-Key`,
      1,
    );
  }
}
