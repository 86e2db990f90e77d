/** Starts one BullMQ Worker per configured queue, with payload validation, logging and metrics around every job. */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../lib/redis.js';
import type { z } from 'zod';
import { cappedBackoff, type Processor, type QueueDefinition, type WorkerDeps } from './define.js';
import { checkCatalogue, queueDefinition, queuePrefix, type QueueName } from './index.js';

export interface RunningWorkers {
  workers: Worker[];
  /** Stops taking jobs, lets active ones finish, flushes buffered work. */
  close(): Promise<void>;
}

export interface StartWorkersOptions {
  queues: readonly QueueName[];
  /** REDIS_PREFIX: each queue's key prefix (its hash tag) comes from the catalogue. */
  redisPrefix: string;
  /** A fresh connection per Worker: BullMQ blocks on it while waiting for jobs. */
  connection: () => RedisClient;
}

// Lock and stall settings. A job's lock is renewed every lockDuration/2 while its
// worker is alive; when a worker dies (SIGKILL, OOM) the lock lapses and another
// worker's stalled-check (every stalledInterval) takes the job back within about
// lockDuration + stalledInterval = 25 s. Shorter locks recover faster but renew more
// often; our jobs take milliseconds (backups: minutes, but renewal continues while
// the process lives). A job that stalls twice more is failed rather than retried
// forever, since it may be what kills workers.
export const LOCK_DURATION_MS = 15_000;
export const STALLED_INTERVAL_MS = 10_000;
export const MAX_STALLED_COUNT = 2;

export function startWorkers(deps: WorkerDeps, options: StartWorkersOptions): RunningWorkers {
  const processors = checkCatalogue(deps, options.queues);
  const workers = options.queues.map((name) => {
    const definition = queueDefinition(name);
    const processor = processors.get(name)!;
    const worker = new Worker(name, (job, token) => runJob(deps, name, definition, processor, job, token), {
      connection: options.connection(),
      prefix: queuePrefix(options.redisPrefix, name),
      concurrency: definition.concurrency(deps.config),
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
      settings: { backoffStrategy: cappedBackoff },
      ...definition.workerOptions,
    });
    worker.on('completed', () => deps.metrics.jobsProcessed.inc({ queue: name, outcome: 'completed' }));
    worker.on('failed', (job, err) => {
      const final = !job || err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      deps.metrics.jobsProcessed.inc({ queue: name, outcome: final ? 'failed' : 'retrying' });
    });
    worker.on('error', (err) => deps.log.warn({ err, queue: name }, 'worker error'));
    return worker;
  });
  deps.log.info({ queues: options.queues }, 'workers started');

  return {
    workers,
    async close() {
      const results = await Promise.allSettled(workers.map((w) => w.close()));
      await Promise.allSettled([...processors.values()].map((p) => p.close?.()));
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) throw new Error(`${failed.length} worker(s) did not close cleanly`);
    },
  };
}

async function runJob(
  deps: WorkerDeps,
  queue: QueueName,
  definition: QueueDefinition,
  processor: Processor<Record<string, z.ZodType>>,
  job: Job,
  token?: string,
): Promise<unknown> {
  const log = deps.log.child({ queue, jobId: job.id, jobName: job.name, attempt: job.attemptsMade + 1 });
  const schema = definition.jobs[job.name];
  const handler = processor.handlers[job.name];
  // A payload that can never succeed fails at once instead of burning retries.
  if (!schema || !handler) throw new UnrecoverableError(`unknown job name "${job.name}" on queue ${queue}`);
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    log.error({ reason }, 'invalid job payload; failing without retry');
    throw new UnrecoverableError(`invalid payload: ${reason}`);
  }
  if (job.attemptsMade === 0) deps.metrics.jobWait.observe({ queue }, Math.max(0, Date.now() - job.timestamp) / 1000);
  const stopTimer = deps.metrics.jobDuration.startTimer({ queue });
  try {
    const started = Date.now();
    const result = await handler(parsed.data, { job, token, log });
    log[definition.successLogLevel ?? 'info']({ durationMs: Date.now() - started }, 'job completed');
    return result;
  } catch (err) {
    // A job put back on purpose (moveToDelayed, then DelayedError) did not fail.
    if (!(err instanceof DelayedError)) log.warn({ err }, 'job attempt failed');
    throw err;
  } finally {
    stopTimer();
  }
}
