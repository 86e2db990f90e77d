/**
 * Webhook endpoints and manual retries (DESIGN.md "Shippers"). Every function takes a scope: an
 * admin's is every client; a shipper key's (a later issue) is its own client, and another
 * client's endpoint then looks exactly like a missing one.
 */
import { ALL_EVENTS, SECRET_OVERLAP_MS } from '../domain/webhook-events.js';
import { WEBHOOK_RETRY } from '../domain/events.js';
import { writeEvent } from '../db/outbox.js';
import { findRecord } from '../db/records.js';
import {
  endpointSecretsAfter,
  getEndpoint,
  insertEndpoint,
  lockDelivery,
  reopenDelivery,
  replaceEndpointSecrets,
  updateEndpoint,
  type DeliveryRow,
  type EndpointRow,
} from '../db/webhooks.js';
import type { Db } from '../db/knex.js';
import type { AddressPolicy } from '../lib/address-guard.js';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors/index.js';
import { urlRefusal } from '../lib/outbound-http.js';
import { decryptSecret, encryptSecret, newWebhookSecret } from '../lib/webhook-secrets.js';
import type { Tx } from './transaction.js';

/** Whose endpoints a caller may touch: every client's (admin) or one client's. */
export type WebhookScope = { kind: 'all' } | { kind: 'client'; clientId: number };

export interface WebhookSettings {
  policy: AddressPolicy;
  secretKey: Buffer;
}

function checkUrl(settings: WebhookSettings, url: string): void {
  const refusal = urlRefusal(settings.policy, url);
  if (refusal) throw new ValidationError('endpoint URL refused', [{ field: 'body.url', message: refusal }]);
}

/** A `*` beside named types would be ambiguous to read back; one or the other. */
function checkEvents(events: readonly string[]): void {
  if (events.includes(ALL_EVENTS) && events.length > 1) {
    throw new ValidationError('events', [{ field: 'body.events', message: `"${ALL_EVENTS}" must be the only entry` }]);
  }
}

export interface EndpointInput {
  url: string;
  events: string[];
  description?: string | null;
  /** Only an admin names a client; a shipper's scope decides it. */
  clientId?: number | null;
}

export async function createEndpoint(
  tx: Tx,
  settings: WebhookSettings,
  scope: WebhookScope,
  input: EndpointInput,
  by: number | null,
): Promise<{ row: EndpointRow; secret: string }> {
  checkUrl(settings, input.url);
  checkEvents(input.events);
  const clientId = scope.kind === 'client' ? scope.clientId : (input.clientId ?? null);
  if (clientId !== null && !(await findRecord(tx.trx, 'clients', clientId))) {
    throw new ValidationError('unknown client', [{ field: 'body.client_id', message: `no client ${clientId}` }]);
  }
  const secret = newWebhookSecret();
  const row = await insertEndpoint(tx.trx, {
    client_id: clientId,
    url: input.url,
    description: input.description ?? null,
    events: [...new Set(input.events)],
    secret_enc: encryptSecret(settings.secretKey, secret),
    created_by: by,
  });
  return { row, secret };
}

/** The endpoint if the scope may see it: another client's looks exactly like a missing one. */
async function findScoped(tx: Tx, scope: WebhookScope, id: number, forUpdate: boolean): Promise<EndpointRow | undefined> {
  const row = await getEndpoint(tx.trx, id, { forUpdate });
  return row && (scope.kind === 'all' || row.client_id === scope.clientId) ? row : undefined;
}

/** An endpoint the caller may read, locked when it is about to be changed (404 otherwise). */
export async function readEndpoint(tx: Tx, scope: WebhookScope, id: number, forUpdate = false): Promise<EndpointRow> {
  const row = await findScoped(tx, scope, id, forUpdate);
  if (!row) throw new NotFoundError('webhook endpoint');
  return row;
}

export interface EndpointPatch {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

/** Enabling clears a disabled reason and the run of failures: the shipper says the endpoint is fixed. */
export async function changeEndpoint(tx: Tx, settings: WebhookSettings, scope: WebhookScope, id: number, patch: EndpointPatch): Promise<EndpointRow> {
  await readEndpoint(tx, scope, id, true);
  if (patch.url !== undefined) checkUrl(settings, patch.url);
  if (patch.events !== undefined) checkEvents(patch.events);
  const update: Partial<EndpointRow> = {};
  if (patch.url !== undefined) update.url = patch.url;
  if (patch.events !== undefined) update.events = [...new Set(patch.events)];
  if (patch.description !== undefined) update.description = patch.description;
  if (patch.enabled === true) Object.assign(update, { enabled: true, disabled_reason: null, disabled_at: null, failing_since: null });
  if (patch.enabled === false) Object.assign(update, { enabled: false, disabled_reason: 'manual', disabled_at: new Date() });
  return updateEndpoint(tx.trx, id, update);
}

/** Deleted endpoints receive nothing more; their delivery log stays. */
export async function deleteEndpoint(tx: Tx, scope: WebhookScope, id: number): Promise<void> {
  await readEndpoint(tx, scope, id, true);
  await updateEndpoint(tx.trx, id, { deleted_at: new Date(), enabled: false });
}

/**
 * A new secret signs from now on; the current one keeps signing beside it for SECRET_OVERLAP_MS,
 * so receivers can switch without losing a delivery. Rotating again during the overlap drops the
 * oldest: only two secrets ever sign.
 */
export async function rotateSecret(
  tx: Tx,
  settings: WebhookSettings,
  scope: WebhookScope,
  id: number,
  now: Date = new Date(),
): Promise<{ row: EndpointRow; secret: string }> {
  const current = await readEndpoint(tx, scope, id, true);
  const secret = newWebhookSecret();
  const row = await updateEndpoint(tx.trx, id, {
    secret_enc: encryptSecret(settings.secretKey, secret),
    previous_secret_enc: current.secret_enc,
    previous_secret_expires_at: new Date(now.getTime() + SECRET_OVERLAP_MS),
  });
  return { row, secret };
}

/** Queues one more attempt of a delivery (whatever its status), through the outbox: 202 means it will happen. */
export async function retryDelivery(tx: Tx, scope: WebhookScope, deliveryId: number): Promise<DeliveryRow> {
  const delivery = await lockDelivery(tx.trx, deliveryId);
  if (!delivery) throw new NotFoundError('webhook delivery');
  // A deleted endpoint's deliveries, or another client's, are not there for this caller.
  const endpoint = await findScoped(tx, scope, delivery.endpoint_id, true);
  if (!endpoint) throw new NotFoundError('webhook delivery');
  if (!endpoint.enabled) throw new ConflictError(`endpoint ${endpoint.id} is disabled: enable it first`, 'endpoint_disabled');
  const row = await reopenDelivery(tx.trx, deliveryId);
  await writeEvent(tx.trx, WEBHOOK_RETRY, { deliveryId, endpointId: endpoint.id });
  return row;
}

export interface ReencryptResult {
  checked: number;
  reencrypted: number;
  /** Endpoints with a secret that neither key decrypts: left as they are (rotate their secrets). */
  unreadable: number[];
}

/**
 * Rotating WEBHOOK_SECRET_KEY (npm run webhooks:rekey, docs/security.md): every stored secret
 * still encrypted under the previous key is encrypted again under the current one. Idempotent:
 * a secret already under the current key is left alone, so the command can run again after an
 * interruption. Each endpoint is replaced only if its secrets did not change since they were read.
 */
export async function reencryptSecrets(db: Db, keys: { current: Buffer; previous: Buffer }): Promise<ReencryptResult> {
  const result: ReencryptResult = { checked: 0, reencrypted: 0, unreadable: [] };
  /** The stored text under the current key: unchanged if it is already, undefined if neither key reads it. */
  const underCurrent = (stored: string): string | undefined => {
    try {
      decryptSecret(keys.current, stored);
      return stored;
    } catch {
      try {
        return encryptSecret(keys.current, decryptSecret(keys.previous, stored));
      } catch {
        return undefined;
      }
    }
  };
  for (let after = 0; ;) {
    const batch = await endpointSecretsAfter(db, after, 500);
    if (batch.length === 0) return result;
    for (const row of batch) {
      result.checked += 1;
      const secret = underCurrent(row.secret_enc);
      const previous = row.previous_secret_enc === null ? null : underCurrent(row.previous_secret_enc);
      if (secret === undefined || previous === undefined) {
        result.unreadable.push(row.id);
        continue;
      }
      if (secret === row.secret_enc && previous === row.previous_secret_enc) continue;
      if (await replaceEndpointSecrets(db, row.id, row, { secret_enc: secret, previous_secret_enc: previous })) result.reencrypted += 1;
    }
    after = batch.at(-1)!.id;
  }
}
