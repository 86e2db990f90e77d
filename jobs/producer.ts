/**
 * Enqueues jobs for the API. Bounded by a timeout so a Redis outage becomes a quick
 * 503 instead of a hung request (BullMQ waits for a first connection otherwise).
 */
import type { JobsOptions } from 'bullmq';
import type { QueueName } from '../lib/config.js';
import { UnavailableError } from '../lib/errors/index.js';
import { withTimeout } from '../lib/timeout.js';
import type { JobData, JobName } from './index.js';
import type { Queues } from './queues.js';

export class JobProducer {
  constructor(
    readonly queues: Queues,
    private readonly timeoutMs: number,
  ) {}

  async add<Q extends QueueName, N extends JobName<Q>>(queue: Q, name: N, data: JobData<Q, N>, options?: JobsOptions): Promise<string> {
    try {
      const job = await withTimeout(this.queues[queue].add(name, data, options), this.timeoutMs, () => new UnavailableError('queue'));
      return String(job.id);
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      throw new UnavailableError('queue');
    }
  }
}
