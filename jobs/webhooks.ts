/**
 * webhooks queue (DESIGN.md "Shippers", docs/webhooks.md). Two jobs:
 * - `webhook.event` (from the outbox): fans one event out into a delivery row and a
 *   `webhook.deliver` job per subscribed endpoint. The job id comes from the event's key and the
 *   endpoint, so a fan-out run twice adds each delivery once.
 * - `webhook.deliver`: one attempt (jobs/webhook-delivery.ts); BullMQ retries it after the wait
 *   the attempt chose (WEBHOOK_RETRY_SCHEDULE with jitter). Also queued by a manual retry.
 *
 * No head-of-line blocking: every (event, endpoint) is its own job, so a slow endpoint holds only
 * its own jobs, and no endpoint may occupy more than endpointSlotLimit of a worker's slots: a job
 * for an endpoint at its limit goes back to the delayed set (not counted as an attempt) for about as long
 * as that endpoint's attempts take, and healthy endpoints keep the other slots.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { RelayedFields, WEBHOOK_EVENT, WEBHOOK_RETRY } from '../domain/events.js';
import { deliveriesWithEndpoints, endpointsForEvent, insertDeliveries, recordAttempts, type AttemptRecord, type DeliveryWithEndpoint } from '../db/webhooks.js';
import { BatchWriter } from './batch-writer.js';
import { CAPPED_BACKOFF, SHARED_HASH_TAG, cappedBackoff, defineQueue } from './define.js';
import { attemptDelivery, DeliveryOver, RetryLater, type DeliveryDeps } from './webhook-delivery.js';

const WebhookEvent = WEBHOOK_EVENT.payload.extend(RelayedFields.shape);
/** From the fan-out (no relay fields) or from a manual retry through the outbox (with them). */
export const WebhookDeliver = WEBHOOK_RETRY.payload.extend(RelayedFields.partial().shape);
export type WebhookDeliver = z.infer<typeof WebhookDeliver>;

const WEBHOOK_BACKOFF = 'webhook';

/** The job of one (event, endpoint): its id makes a repeated fan-out a no-op. */
const deliveryJobId = (eventKey: string, endpointId: number) => `wh-${eventKey}-${endpointId}`;

/** The wait an attempt chose; anything else (a database error) backs off like every queue. */
function webhookBackoff(attemptsMade: number, _type?: string, err?: Error, job?: { opts: { backoff?: unknown } }): number {
  if (err instanceof RetryLater) return err.delayMs;
  return cappedBackoff(attemptsMade, CAPPED_BACKOFF, err, job);
}

/**
 * Slots of a worker one endpoint may hold: a quarter of them, at most 10. With the default 200
 * slots it takes 20 endpoints hanging at once to fill a worker; each of them costs only its own
 * deliveries' latency.
 */
function endpointSlotLimit(concurrency: number): number {
  return Math.max(1, Math.min(10, Math.floor(concurrency / 4)));
}

/** Per-process load of each endpoint: attempts in flight, and how long its attempts take lately. */
class EndpointLoad {
  private readonly load = new Map<number, { inFlight: number; avgMs: number }>();
  constructor(readonly limit: number) {}

  tryStart(endpointId: number): boolean {
    const entry = this.load.get(endpointId) ?? { inFlight: 0, avgMs: 100 };
    if (entry.inFlight >= this.limit) return false;
    entry.inFlight += 1;
    this.load.set(endpointId, entry);
    return true;
  }

  finish(endpointId: number, ms: number): void {
    const entry = this.load.get(endpointId);
    if (!entry) return;
    entry.inFlight -= 1;
    entry.avgMs = entry.avgMs * 0.8 + ms * 0.2;
    if (entry.inFlight === 0 && entry.avgMs < 200) this.load.delete(endpointId);
  }

  /** How long a job for a busy endpoint waits: about one of its attempts, between 50 ms and 2 s, jittered. */
  deferMs(endpointId: number): number {
    const avg = this.load.get(endpointId)?.avgMs ?? 100;
    return Math.round(Math.min(2000, Math.max(50, avg)) * (0.5 + Math.random()));
  }
}

/**
 * Collects the ids many jobs ask for within a few milliseconds into one read: one query for a
 * burst of attempts instead of one each (the database round trips, not the HTTP requests, were
 * what bounded throughput).
 */
function batchedLoader<K, V>(readMany: (keys: K[]) => Promise<Map<K, V>>, waitMs: number): (key: K) => Promise<V | undefined> {
  let waiting: { key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    const batch = waiting;
    waiting = [];
    timer = undefined;
    readMany([...new Set(batch.map((w) => w.key))]).then(
      (found) => batch.forEach((w) => w.resolve(found.get(w.key))),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  };
  return (key) =>
    new Promise((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      timer ??= setTimeout(flush, waitMs);
    });
}

/** How long an attempt's read or log row waits for others to share its query: small beside an HTTP round trip. */
const BATCH_WAIT_MS = 5;

export const webhooksQueue = defineQueue({
  name: WEBHOOK_EVENT.queue,
  description: '웹훅 전송 · webhook deliveries to shippers',
  hashTag: SHARED_HASH_TAG,
  dispatcherVisible: false,
  jobs: { [WEBHOOK_EVENT.job]: WebhookEvent, [WEBHOOK_RETRY.job]: WebhookDeliver },
  defaultJobOptions: {
    // Enough for the longest schedule config accepts (20 waits); the attempt itself decides when to stop.
    attempts: 25,
    backoff: { type: WEBHOOK_BACKOFF, delay: 1000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  },
  concurrency: (config) => config.webhooks.concurrency,
  workerOptions: { settings: { backoffStrategy: webhookBackoff } },
  successLogLevel: 'debug',
  createProcessor: ({ db, config, metrics, log, queues }) => {
    const endpointLoad = new EndpointLoad(endpointSlotLimit(config.webhooks.concurrency));
    const attemptLog = new BatchWriter<AttemptRecord>(log, {
      maxRows: 200,
      maxWaitMs: BATCH_WAIT_MS,
      store: (rows) => recordAttempts(db, rows),
      what: 'webhook attempts',
    });
    const deliveryDeps: DeliveryDeps = {
      db,
      config: config.webhooks,
      metrics,
      log,
      load: batchedLoader<number, DeliveryWithEndpoint>((ids) => deliveriesWithEndpoints(db, ids), BATCH_WAIT_MS),
      record: (attempt) => attemptLog.write([attempt]),
    };
    return {
      close: () => attemptLog.close(),
      handlers: {
        'webhook.event': async (event) => {
          if (!event.eventKey) throw new UnrecoverableError('webhook event without an event key');
          const endpoints = await endpointsForEvent(db, event.type, event.clientId);
          const body = JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event.data });
          const pending = await insertDeliveries(
            db,
            event.eventKey,
            event.type,
            body,
            endpoints.map((e) => e.id),
          );
          if (pending.length > 0) {
            await queues[WEBHOOK_EVENT.queue]!.addBulk(
              pending.map((d) => ({
                name: WEBHOOK_RETRY.job,
                data: { deliveryId: d.id, endpointId: d.endpoint_id },
                opts: { jobId: deliveryJobId(event.eventKey!, d.endpoint_id) },
              })),
            );
          }
          return { endpoints: endpoints.length, queued: pending.length };
        },
        'webhook.deliver': async ({ deliveryId, endpointId }, { job, token }) => {
          if (!endpointLoad.tryStart(endpointId)) {
            await (job as Job).moveToDelayed(Date.now() + endpointLoad.deferMs(endpointId), token);
            throw new DelayedError();
          }
          const started = Date.now();
          try {
            return await attemptDelivery(deliveryDeps, deliveryId, job.attemptsMade);
          } catch (err) {
            if (err instanceof DeliveryOver) throw new UnrecoverableError(err.message);
            throw err;
          } finally {
            endpointLoad.finish(endpointId, Date.now() - started);
          }
        },
      },
    };
  },
});
