/**
 * One delivery attempt of one event to one endpoint (DESIGN.md "Shippers"): sign, POST through the
 * guarded client (lib/outbound-http.ts), log the attempt, and decide what comes next: done, retry
 * after the schedule's next wait (with jitter), or give up. 410 disables the endpoint; five days of
 * failures disable it too and raise an operator alert (monitoring/alerts.yml).
 */
import { AUTO_DISABLE_AFTER_MS, retryDelayMs } from '../domain/webhook-events.js';
import {
  cancelDelivery,
  clearFailing,
  disableEndpoint,
  markFailing,
  type AttemptOutcome,
  type AttemptRecord,
  type DeliveryWithEndpoint,
  type EndpointRow,
} from '../db/webhooks.js';
import type { Db } from '../db/knex.js';
import type { WebhookConfig } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import { OutboundError, postJson, type Resolver } from '../lib/outbound-http.js';
import { decryptSecretWithKeys, signedHeaders } from '../lib/webhook-secrets.js';

type EncryptionKeys = Parameters<typeof decryptSecretWithKeys>[0];

/** The Standard Webhooks message id: the event's never-reused key, the same on every attempt and for every endpoint. */
export const webhookId = (eventKey: string) => `msg_${eventKey}`;

/** Bytes of an endpoint's answer kept in the log: enough to see an error page's first lines. */
const MAX_RESPONSE_BYTES = 4096;

/** Thrown to have BullMQ retry after exactly `delayMs` (the webhooks worker's backoff strategy reads it). */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** Thrown when nothing more should be tried; the worker turns it into a BullMQ UnrecoverableError. */
export class DeliveryOver extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryOver';
  }
}

export interface DeliveryDeps {
  db: Db;
  config: WebhookConfig;
  metrics: Metrics;
  log: Logger;
  /** Reads a delivery and its endpoint (batched with other jobs' reads: jobs/webhooks.ts). */
  load: (deliveryId: number) => Promise<DeliveryWithEndpoint | undefined>;
  /** Logs an attempt; resolves once it is committed (batched with other jobs' attempts). */
  record: (attempt: AttemptRecord) => Promise<void>;
  /** Injected by tests to point a name at an address without asking the network. */
  resolver?: Resolver;
}

// Decrypted secrets by their ciphertext: a rotation makes a new ciphertext, so an entry can never be stale.
const decrypted = new Map<string, string>();
const MAX_CACHED_SECRETS = 10_000;

function secretOf(keys: EncryptionKeys, stored: string): string {
  let secret = decrypted.get(stored);
  if (secret === undefined) {
    secret = decryptSecretWithKeys(keys, stored);
    if (decrypted.size >= MAX_CACHED_SECRETS) decrypted.clear();
    decrypted.set(stored, secret);
  }
  return secret;
}

/** The secrets that sign now: the current one, and the previous one during a rotation's overlap. */
function signingSecrets(keys: EncryptionKeys, endpoint: EndpointRow, now: Date): string[] {
  const secrets = [secretOf(keys, endpoint.secret_enc)];
  if (endpoint.previous_secret_enc && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now) {
    secrets.push(secretOf(keys, endpoint.previous_secret_enc));
  }
  return secrets;
}

/**
 * Makes one attempt. `attemptsMade` counts this job's earlier attempts (a manual retry starts a
 * fresh schedule). Resolves when the delivery is finished one way or another; throws RetryLater
 * for another attempt, DeliveryOver when no more are due.
 */
export async function attemptDelivery(
  deps: DeliveryDeps,
  deliveryId: number,
  attemptsMade: number,
): Promise<{ outcome: AttemptOutcome | 'skipped'; status?: number }> {
  const { db, config, metrics, log } = deps;
  const found = await deps.load(deliveryId);
  if (!found) return { outcome: 'skipped' };
  const { delivery, endpoint } = found;
  // A job run twice (a stalled worker) or an endpoint switched off since the event: nothing to send.
  if (delivery.status !== 'PENDING') return { outcome: 'skipped' };
  if (!endpoint.enabled || endpoint.deleted_at) {
    await cancelDelivery(db, delivery.id, endpoint.deleted_at ? 'endpoint deleted' : 'endpoint disabled');
    return { outcome: 'skipped' };
  }

  const startedAt = new Date();
  const keys = { current: config.secretKey, previous: config.previousSecretKey };
  const headers = signedHeaders(signingSecrets(keys, endpoint, startedAt), webhookId(delivery.event_key), delivery.body, startedAt);
  let status: number | null = null;
  let error: string | null = null;
  let refused = false;
  try {
    const res = await postJson(endpoint.url, delivery.body, headers, {
      policy: { allowPrivate: config.allowPrivate, allowedHosts: config.allowedHosts },
      timeoutMs: config.timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      resolver: deps.resolver,
    });
    status = res.status;
    if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ''}`;
  } catch (err) {
    refused = err instanceof OutboundError && err.kind === 'refused';
    error = err instanceof Error ? err.message : String(err);
  }
  const durationMs = Date.now() - startedAt.getTime();
  metrics.webhookAttemptDuration.observe(durationMs / 1000);

  const record = (outcome: AttemptOutcome, nextAttemptAt: Date | null = null) => {
    metrics.webhookAttempts.inc({ outcome });
    return deps.record({
      deliveryId: delivery.id,
      endpointId: endpoint.id,
      attempt: delivery.attempts + 1,
      startedAt,
      durationMs,
      statusCode: status,
      outcome,
      error,
      nextAttemptAt,
    });
  };

  if (error === null) {
    await record('succeeded');
    // Written only when a run of failures ends: successes are the common case.
    if (endpoint.failing_since) await clearFailing(db, endpoint.id);
    return { outcome: 'succeeded', status: status! };
  }
  if (status === 410) {
    // The receiver says the endpoint is gone for good (Standard Webhooks): stop sending anything.
    await record('gone');
    if (await disableEndpoint(db, endpoint.id, 'gone')) {
      metrics.webhookEndpointsDisabled.inc({ reason: 'gone' });
      log.warn({ endpointId: endpoint.id }, 'webhook endpoint answered 410 Gone; disabled');
    }
    return { outcome: 'gone', status };
  }
  const failingSince = await markFailing(db, endpoint.id);
  if (Date.now() - failingSince.getTime() >= AUTO_DISABLE_AFTER_MS) {
    await record('failed');
    if (await disableEndpoint(db, endpoint.id, 'failing')) {
      metrics.webhookEndpointsDisabled.inc({ reason: 'failing' });
      log.error({ endpointId: endpoint.id, failingSince }, 'webhook endpoint failing for 5 days; disabled');
    }
    throw new DeliveryOver(`endpoint ${endpoint.id} disabled after 5 days of failures: ${error}`);
  }
  if (refused) {
    // The address policy will not change between attempts: retrying only repeats the refusal.
    await record('refused');
    throw new DeliveryOver(error);
  }
  const delay = retryDelayMs(config.retryScheduleMs, attemptsMade + 1);
  if (delay === undefined) {
    await record('failed');
    throw new DeliveryOver(`no attempts left: ${error}`);
  }
  await record('retrying', new Date(Date.now() + delay));
  throw new RetryLater(error, delay);
}
