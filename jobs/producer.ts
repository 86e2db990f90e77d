/**
 * Enqueues jobs for the API, failing fast when Redis is away: a quick 503 beats a
 * hung request. A connection that is not ready refuses at once (BullMQ would
 * otherwise wait for the first connection); a Redis that stops answering is cut off
 * by the connection's command timeout (REDIS_COMMAND_TIMEOUT_MS). No timer per
 * request: this is the GPS hot path. A command cut off by the timeout may still have
 * run in Redis, so that 503 means "maybe queued": callers retry with a job id that
 * makes the retry the same job (the Idempotency-Key of GPS posts, the outbox row).
 */
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { UnavailableError } from '../lib/errors/index.js';
import type { JobData, JobName, QueueName } from './index.js';
import type { Queues } from './queues.js';

export class JobProducer {
  constructor(
    readonly queues: Queues,
    private readonly redis: Redis,
  ) {}

  async add<Q extends QueueName, N extends JobName<Q>>(queue: Q, name: N, data: JobData<Q, N>, options?: JobsOptions): Promise<string> {
    if (this.redis.status !== 'ready') throw new UnavailableError('queue');
    try {
      const job = await this.queues[queue].add(name, data, options);
      return String(job.id);
    } catch {
      throw new UnavailableError('queue');
    }
  }
}
