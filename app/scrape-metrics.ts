/** Gauges read at scrape time: queue depth per state, database pool, outbox backlog, backups, open temperature excursions. */
import type { Db } from '../db/knex.js';
import { poolStats } from '../db/knex.js';
import { openExcursionCounts } from '../db/excursions.js';
import { pendingOutbox } from '../db/outbox.js';
import { autoDisabledCount } from '../db/webhooks.js';
import { lastSuccessTimes } from '../backups/manifest.js';
import type { Queues } from '../jobs/queues.js';
import { scrapeGauge, type Metrics } from '../lib/metrics.js';
import { cachedRead } from '../lib/cached-read.js';
import { withTimeout } from '../lib/timeout.js';

export interface ScrapeCacheOptions {
  cacheMs?: number;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;

export function registerQueueGauges(metrics: Metrics, queues: Queues, timeoutMs: number, options: ScrapeCacheOptions = {}): void {
  const read = cachedRead(
    () =>
      Promise.all(
        Object.entries(queues).map(async ([name, queue]) => ({
          name,
          counts: await withTimeout(queue.getJobCounts(...QUEUE_STATES), timeoutMs, () => new Error('timeout')),
        })),
      ),
    options.cacheMs,
  );
  scrapeGauge(
    metrics.registry,
    { name: 'uvis_queue_jobs', help: 'Jobs in each queue by state, read from Redis at scrape time', labelNames: ['queue', 'state'] },
    async (gauge) => {
      for (const { name, counts } of await read()) {
        for (const state of QUEUE_STATES) gauge.set({ queue: name, state }, counts[state] ?? 0);
      }
    },
  );
}

export function registerDatabaseGauges(metrics: Metrics, db: Db, options: ScrapeCacheOptions = {}): void {
  scrapeGauge(
    metrics.registry,
    { name: 'uvis_db_pool_connections', help: 'Database pool: used and free connections, waiting acquires, pending creates', labelNames: ['state'] },
    async (gauge) => {
      const stats = poolStats(db);
      gauge.set({ state: 'used' }, stats.used);
      gauge.set({ state: 'free' }, stats.free);
      gauge.set({ state: 'waiting' }, stats.pendingAcquires);
      gauge.set({ state: 'creating' }, stats.pendingCreates);
    },
  );
  const outbox = cachedRead(() => withTimeout(pendingOutbox(db), 1000, () => new Error('timeout')), options.cacheMs);
  scrapeGauge(metrics.registry, { name: 'uvis_outbox_pending', help: 'Outbox rows not yet relayed to their queue' }, async (gauge) => {
    gauge.set((await outbox()).count);
  });
  scrapeGauge(metrics.registry, { name: 'uvis_outbox_oldest_pending_seconds', help: 'Age of the oldest outbox row not yet relayed' }, async (gauge) => {
    gauge.set((await outbox()).oldestAgeSeconds);
  });
}

/** For the backup alerts: 0 until the first success (an unlabelled gauge always has a value), which the alerts read as long ago. */
export function registerBackupGauges(metrics: Metrics, db: Db, options: ScrapeCacheOptions = {}): void {
  const read = cachedRead(() => withTimeout(lastSuccessTimes(db), 1000, () => new Error('timeout')), options.cacheMs);
  scrapeGauge(
    metrics.registry,
    { name: 'uvis_backup_last_success_timestamp_seconds', help: 'When the last successful backup finished (Unix time)' },
    async (gauge) => {
      const { backup } = await read();
      if (backup) gauge.set(backup.getTime() / 1000);
    },
  );
  scrapeGauge(
    metrics.registry,
    { name: 'uvis_backup_last_verification_success_timestamp_seconds', help: 'When a backup last passed its restore verification (Unix time)' },
    async (gauge) => {
      const { verification } = await read();
      if (verification) gauge.set(verification.getTime() / 1000);
    },
  );
}

/** Current OPEN temperature excursions by severity (both series always present, 0 when none), for the excursion alerts. */
export function registerExcursionGauges(metrics: Metrics, db: Db, options: ScrapeCacheOptions = {}): void {
  const read = cachedRead(() => withTimeout(openExcursionCounts(db), 1000, () => new Error('timeout')), options.cacheMs);
  scrapeGauge(
    metrics.registry,
    { name: 'uvis_temperature_excursions_open', help: 'Temperature excursions currently OPEN, by severity', labelNames: ['severity'] },
    async (gauge) => {
      const counts = await read();
      for (const severity of ['WARNING', 'CRITICAL'] as const) gauge.set({ severity }, counts[severity]);
    },
  );
}

/** Webhook endpoints UVIS disabled after 5 days of failures and nobody has re-enabled or deleted: the operator alert's source. */
export function registerWebhookGauges(metrics: Metrics, db: Db, options: ScrapeCacheOptions = {}): void {
  const read = cachedRead(() => withTimeout(autoDisabledCount(db), 1000, () => new Error('timeout')), options.cacheMs);
  scrapeGauge(
    metrics.registry,
    { name: 'uvis_webhook_endpoints_auto_disabled', help: 'Webhook endpoints disabled after 5 days of failed deliveries, not yet re-enabled or deleted' },
    async (gauge) => gauge.set(await read()),
  );
}
