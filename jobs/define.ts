/**
 * The shape of a queue definition: one per file in jobs/, collected by jobs/index.ts.
 * A definition holds every fact about its queue (name, Redis hash tag, payload
 * schemas, options, concurrency, schedules, who may see its jobs, its description),
 * so adding a queue is one new file and one line in the catalogue.
 */
import type { Job, JobsOptions, Queue, WorkerOptions } from 'bullmq';
import type { z } from 'zod';
import type { Config } from '../lib/config.js';
import type { Cache } from '../lib/cache.js';
import type { Db } from '../db/knex.js';
import type { LivePublisher } from '../lib/live-events.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';

/** What processors may use. Deliberately small: processors reach the database and caches, nothing of HTTP. */
export interface WorkerDeps {
  config: Config;
  db: Db;
  cache: Cache;
  live: LivePublisher;
  metrics: Metrics;
  log: Logger;
  /** The catalogue's producers, for a processor that fans one job out into others (webhooks). */
  queues: Record<string, Queue>;
}

export interface JobContext {
  job: Job;
  /** The worker's lock token: what job.moveToDelayed needs to put an active job back. */
  token?: string;
  log: Logger;
}

export type JobSchemas = Record<string, z.ZodType>;

export type Handlers<J extends JobSchemas> = {
  [K in keyof J]: (data: z.infer<J[K]>, ctx: JobContext) => Promise<unknown>;
};

export interface Processor<J extends JobSchemas> {
  handlers: Handlers<J>;
  /** Finishes buffered work (the location writer flushes) before the worker closes. */
  close?: () => Promise<void>;
}

/** A cron schedule that enqueues one of the queue's jobs; see jobs/schedules.ts. */
export interface ScheduleSpec {
  /** Names the tick and the job id: daily-1795765200. */
  name: string;
  cron: string;
  jobName: string;
  data: Record<string, unknown>;
}

/**
 * Every queue has a hash tag of its own (its name, in the catalogue): its keys live under
 * `{REDIS_PREFIX:tag}` (for example `{uvis:orders}:orders:…`), one Redis Cluster slot per
 * queue, so the queues spread over the masters while each queue's Lua scripts, which touch
 * many of its keys at once, stay in one slot. Before per-queue tags every queue shared
 * `{REDIS_PREFIX}` (this empty tag): jobs/legacy-queues.ts finds jobs left under that layout.
 */
export const SHARED_HASH_TAG = '';

/** A BullMQ key prefix: a Redis Cluster hash tag, shared or a queue's own (see SHARED_HASH_TAG). */
export function keyPrefix(redisPrefix: string, hashTag: string): string {
  return hashTag === SHARED_HASH_TAG ? `{${redisPrefix}}` : `{${redisPrefix}:${hashTag}}`;
}

export interface QueueDefinition<J extends JobSchemas = JobSchemas> {
  /** The queue's name; the catalogue's key for it must be the same. */
  name: string;
  /** Shown in Bull Board, Korean first: what the queue's jobs do. */
  description: string;
  /** Redis Cluster hash tag of the queue's keys: its own (the queue's name), so each queue has a slot of its own. */
  hashTag: string;
  /** Its jobs are events of database changes, written through the outbox: queued ones are discarded after a restore. */
  outboxEvents?: true;
  /** Whether dispatchers may see its jobs (GET /jobs/:queue/:id, the read-only Bull Board); admins always may. */
  dispatcherVisible: boolean;
  /** Job name -> payload schema. Workers validate again: a stored job may predate the code. */
  jobs: J;
  /** Cron schedules that enqueue its jobs, run by every worker serving the queue (with SCHEDULES on). */
  schedules?: (config: Config) => ScheduleSpec[];
  defaultJobOptions: JobsOptions;
  concurrency: (config: Config) => number;
  workerOptions?: Partial<WorkerOptions>;
  /** Level of the per-job "completed" line; high-volume queues log successes at debug. */
  successLogLevel?: 'info' | 'debug';
  createProcessor: (deps: WorkerDeps) => Processor<J>;
}

export function defineQueue<J extends JobSchemas>(definition: QueueDefinition<J>): QueueDefinition<J> {
  return definition;
}

/**
 * Exponential backoff capped at 5 minutes (the 'capped' type, cappedBackoff below, which
 * the workers install as their backoff strategy): 25 attempts ride out about an hour and a half of a dependency being
 * down (1 s, 2 s, 4 s ... 256 s, then every 5 minutes) instead of giving up after two
 * minutes as plain doubling with few attempts would.
 */
export const CAPPED_BACKOFF = 'capped';
export const MAX_BACKOFF_MS = 5 * 60_000;

/** delay × 2^(attempt − 1), at most MAX_BACKOFF_MS, with ±10 % jitter so retries of many jobs spread out. */
export function cappedBackoff(attemptsMade: number, type?: string, _err?: Error, job?: { opts: { backoff?: unknown } }): number {
  const backoff = job?.opts.backoff as { delay?: number } | undefined;
  if (type !== CAPPED_BACKOFF) return 0;
  const base = Math.min((backoff?.delay ?? 1000) * 2 ** Math.max(0, attemptsMade - 1), MAX_BACKOFF_MS);
  return Math.round(base * (0.9 + Math.random() * 0.2));
}

/**
 * For queues of many small jobs (GPS points, temperature readings): quicker first
 * retries, fewer completed jobs kept; failures kept a week like the rest.
 */
export const HIGH_VOLUME_JOB_OPTIONS: JobsOptions = {
  attempts: 25,
  backoff: { type: CAPPED_BACKOFF, delay: 500 },
  removeOnComplete: { age: 3600, count: 2000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Retries with capped exponential backoff; completed jobs trimmed by age and count; failed ones kept a week for inspection. */
export const STANDARD_JOB_OPTIONS: JobsOptions = {
  attempts: 25,
  backoff: { type: CAPPED_BACKOFF, delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
