/**
 * Enqueues jobs for the API, failing fast when Redis is away: a quick 503 beats a
 * hung request. A connection that is not ready refuses at once (BullMQ would
 * otherwise wait for the first connection); a Redis that stops answering is cut off
 * by the connection's command timeout (REDIS_COMMAND_TIMEOUT_MS). No timer per
 * request: this is the GPS hot path. A command cut off by the timeout may still have
 * run in Redis, so that 503 means "maybe queued": callers retry with a job id that
 * makes the retry the same job (the Idempotency-Key of GPS posts, the outbox row).
 *
 * With REDIS_WAIT_REPLICAS the add counts only once that many replicas hold it, so a
 * master that dies right after the 202 loses nothing (jobs/queues.ts awaitReplicas).
 */
import type { JobsOptions } from 'bullmq';
import type { RedisClient } from '../lib/redis.js';
import { UnavailableError } from '../lib/errors/index.js';
import type { JobData, JobName, QueueName } from './index.js';
import { awaitReplicas, type Queues, type ReplicaWait } from './queues.js';

export class JobProducer {
  constructor(
    readonly queues: Queues,
    private readonly redis: RedisClient,
    private readonly wait: ReplicaWait = { replicas: 0, timeoutMs: 0 },
  ) {}

  async add<Q extends QueueName, N extends JobName<Q>>(queue: Q, name: N, data: JobData<Q, N>, options?: JobsOptions): Promise<string> {
    if (this.redis.status !== 'ready') throw new UnavailableError('queue');
    let id: string;
    try {
      id = String((await this.queues[queue].add(name, data, options)).id);
    } catch {
      throw new UnavailableError('queue');
    }
    try {
      await awaitReplicas(this.redis, this.queues[queue], this.wait);
    } catch (err) {
      throw err instanceof UnavailableError ? err : new UnavailableError('queue');
    }
    return id;
  }
}
