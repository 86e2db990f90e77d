/**
 * webhooks queue (DESIGN.md "Shippers", docs/webhooks.md). Two jobs:
 * - `webhook.event` (from the outbox): fans one event out into a delivery row per subscribed
 *   endpoint and makes each delivery's first attempt at once, all in parallel, with what the
 *   fan-out already holds (the body, the endpoint): no job, no read per delivery. A delivery
 *   whose first attempt fails continues as a `webhook.deliver` job, delayed by the schedule's
 *   first wait. The job id comes from the event's key and the endpoint, so a fan-out run twice
 *   adds each delivery once; a run that crashed is found again from the deliveries still pending.
 * - `webhook.deliver`: one attempt (jobs/webhook-delivery.ts); BullMQ retries it after the wait
 *   the attempt chose (WEBHOOK_RETRY_SCHEDULE with jitter). Also queued by a manual retry.
 *
 * Why first attempts inline: a job per delivery cost three Redis scripts and a database read per
 * attempt, and on the 2-core machine that capped fan-out at about 800 deliveries a second
 * (docs/performance.md). Retries are rare and keep their own jobs.
 *
 * No head-of-line blocking: no endpoint may occupy more than endpointLimits attempts of a
 * worker at once, inline or as jobs. A fan-out finding an endpoint at its limit queues that
 * delivery as its own job instead of attempting it, so a slow endpoint holds at most that many
 * fan-outs (whose other endpoints were attempted alongside, not after it); a job for an endpoint
 * at its limit goes back to the delayed set (not counted as an attempt) for about as long as that
 * endpoint's attempts take, and healthy endpoints keep the other slots.
 */
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import { z } from 'zod';
import { RelayedFields, WEBHOOK_EVENT, WEBHOOK_RETRY } from '../domain/events.js';
import {
  deliveriesWithEndpoints,
  fanOutDeliveries,
  pendingDeliveries,
  recordAttempts,
  type AttemptRecord,
  type DeliveryRow,
  type DeliveryWithEndpoint,
} from '../db/webhooks.js';
import type { Db } from '../db/knex.js';
import { BatchWriter } from './batch-writer.js';
import { CAPPED_BACKOFF, cappedBackoff, defineQueue } from './define.js';
import { attemptDelivery, DeliveryOver, RetryLater, type DeliveryDeps } from './webhook-delivery.js';

const WebhookEvent = WEBHOOK_EVENT.payload.extend(RelayedFields.shape);
/** From the fan-out (no relay fields) or from a manual retry through the outbox (with them). */
export const WebhookDeliver = WEBHOOK_RETRY.payload.extend(RelayedFields.partial().shape).extend({
  /** Attempts made before this job (the fan-out's first): where the retry schedule continues. A manual retry starts afresh. */
  attemptsBefore: z.number().int().min(0).optional(),
});
export type WebhookDeliver = z.infer<typeof WebhookDeliver>;

const WEBHOOK_BACKOFF = 'webhook';

/** The job of one (event, endpoint): its id makes a repeated fan-out a no-op. */
const deliveryJobId = (eventKey: string, endpointId: number) => `wh-${eventKey}-${endpointId}`;

/** The `webhook.deliver` job that continues a delivery after `attemptsBefore` attempts, `delayMs` from now. */
function deliverJob(delivery: Pick<DeliveryRow, 'id' | 'endpoint_id' | 'event_key'>, attemptsBefore: number, delayMs: number) {
  return {
    name: WEBHOOK_RETRY.job,
    data: { deliveryId: delivery.id, endpointId: delivery.endpoint_id, ...(attemptsBefore > 0 ? { attemptsBefore } : {}) },
    opts: { jobId: deliveryJobId(delivery.event_key, delivery.endpoint_id), ...(delayMs > 0 ? { delay: Math.round(delayMs) } : {}) },
  };
}

/** The wait an attempt chose; anything else (a database error) backs off like every queue. */
function webhookBackoff(attemptsMade: number, _type?: string, err?: Error, job?: { opts: { backoff?: unknown } }): number {
  if (err instanceof RetryLater) return err.delayMs;
  return cappedBackoff(attemptsMade, CAPPED_BACKOFF, err, job);
}

/**
 * Attempts one endpoint may have in flight in a worker. A healthy endpoint may use a quarter of
 * the slots (50 of the default 200): at 200 events a second it needs rate × latency in flight, 10
 * at 50 ms, more when the machine is busy, and a smaller cap throttled healthy receivers in the
 * benchmark. An endpoint that turns slow (an attempt in flight for a second, or attempts averaging
 * a second) is held to `slow` (a quarter, at most 10), so it takes 4 endpoints hanging within the
 * same second, or 20 known to be slow, to fill a worker; each of them costs only its own deliveries' latency.
 */
export function endpointLimits(concurrency: number): { healthy: number; slow: number } {
  const quarter = Math.max(1, Math.floor(concurrency / 4));
  return { healthy: quarter, slow: Math.min(10, quarter) };
}

/** An attempt this old, or an average this long, makes an endpoint slow. */
const SLOW_MS = 1000;

/** Per-process load of each endpoint: when its attempts in flight started, and how long its attempts take lately. */
export class EndpointLoad {
  private readonly load = new Map<number, { started: number[]; avgMs: number }>();
  constructor(readonly limits: { healthy: number; slow: number }) {}

  /** Takes a slot for an attempt; returns its token (for finish), or undefined when the endpoint is at its limit. */
  tryStart(endpointId: number): number | undefined {
    const entry = this.load.get(endpointId) ?? { started: [], avgMs: 100 };
    const now = Date.now();
    const n = entry.started.length;
    if (n >= this.limits.healthy) return undefined;
    if (n >= this.limits.slow && (entry.avgMs >= SLOW_MS || now - Math.min(...entry.started) >= SLOW_MS)) return undefined;
    entry.started.push(now);
    this.load.set(endpointId, entry);
    return now;
  }

  finish(endpointId: number, token: number): void {
    const entry = this.load.get(endpointId);
    if (!entry) return;
    const i = entry.started.indexOf(token);
    if (i !== -1) entry.started.splice(i, 1);
    entry.avgMs = entry.avgMs * 0.8 + (Date.now() - token) * 0.2;
    if (entry.started.length === 0 && entry.avgMs < 200) this.load.delete(endpointId);
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
  hashTag: 'webhooks',
  dispatcherVisible: false,
  // Its jobs name deliveries by id: after a restore those ids belong to other rows. The restore
  // clears them and queues the restored database's pending deliveries (requeuePendingDeliveries).
  outboxEvents: true,
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
    const endpointLoad = new EndpointLoad(endpointLimits(config.webhooks.concurrency));
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
    /**
     * A fan-out's first attempt of one delivery (the endpoint's slot already taken); returns the
     * job that continues it, if any. Never throws: one endpoint's failure is not the event's.
     */
    const firstAttempt = async (found: DeliveryWithEndpoint, token: number) => {
      try {
        await attemptDelivery({ ...deliveryDeps, load: async () => found }, found.delivery.id, 0);
        return undefined;
      } catch (err) {
        if (err instanceof DeliveryOver) return undefined; // logged as failed or refused: nothing more is due
        if (err instanceof RetryLater) return deliverJob(found.delivery, 1, err.delayMs);
        // Not the endpoint's answer (the database, say): the delivery job makes the attempt again.
        log.warn({ err, deliveryId: found.delivery.id }, 'webhook first attempt failed; queued as a job');
        return deliverJob(found.delivery, 0, 0);
      } finally {
        endpointLoad.finish(found.endpoint.id, token);
      }
    };
    return {
      close: () => attemptLog.close(),
      handlers: {
        'webhook.event': async (event) => {
          if (!event.eventKey) throw new UnrecoverableError('webhook event without an event key');
          const body = JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event.data });
          const pending = await fanOutDeliveries(db, { key: event.eventKey, type: event.type, clientId: event.clientId, body });
          const queued: ReturnType<typeof deliverJob>[] = [];
          const inline: { found: DeliveryWithEndpoint; token: number }[] = [];
          for (const found of pending) {
            const { delivery, endpoint } = found;
            if (delivery.attempts > 0) {
              // Attempted by a run that crashed before queuing its retry: continue the schedule.
              queued.push(deliverJob(delivery, delivery.attempts, (delivery.next_attempt_at?.getTime() ?? 0) - Date.now()));
              continue;
            }
            const token = endpointLoad.tryStart(endpoint.id);
            if (token !== undefined) inline.push({ found, token });
            else queued.push(deliverJob(delivery, 0, 0));
          }
          // Queued before the inline attempts: a crash during them leaves nothing that a rerun would not find.
          if (queued.length > 0) await queues[WEBHOOK_EVENT.queue]!.addBulk(queued);
          const retries = (await Promise.all(inline.map(({ found, token }) => firstAttempt(found, token)))).filter((job) => job !== undefined);
          if (retries.length > 0) await queues[WEBHOOK_EVENT.queue]!.addBulk(retries);
          return { deliveries: pending.length, attempted: inline.length, queued: queued.length + retries.length };
        },
        'webhook.deliver': async ({ deliveryId, endpointId, attemptsBefore }, { job, token }) => {
          const slot = endpointLoad.tryStart(endpointId);
          if (slot === undefined) {
            await (job as Job).moveToDelayed(Date.now() + endpointLoad.deferMs(endpointId), token);
            throw new DelayedError();
          }
          try {
            return await attemptDelivery(deliveryDeps, deliveryId, (attemptsBefore ?? 0) + job.attemptsMade);
          } catch (err) {
            if (err instanceof DeliveryOver) throw new UnrecoverableError(err.message);
            throw err;
          } finally {
            endpointLoad.finish(endpointId, slot);
          }
        },
      },
    };
  },
});

/**
 * Queues a `webhook.deliver` job for every delivery still PENDING, continuing its schedule (after
 * a restore, which cleared the jobs of the discarded timeline). Returns how many were queued.
 */
export async function requeuePendingDeliveries(db: Db, queue: Queue): Promise<number> {
  let queued = 0;
  for (let after = 0; ;) {
    const batch = await pendingDeliveries(db, after, 1000);
    if (batch.length === 0) return queued;
    await queue.addBulk(batch.map((d) => deliverJob(d, d.attempts, (d.next_attempt_at?.getTime() ?? 0) - Date.now())));
    queued += batch.length;
    after = batch.at(-1)!.id;
  }
}
