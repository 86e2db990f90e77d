/** Webhook endpoints, deliveries (one per event and endpoint) and the attempt log (migrations/20261129_0011_webhooks.ts). */
import { ALL_EVENTS } from '../domain/webhook-events.js';
import { decodeCursor, page } from './cursor.js';
import type { Db, Trx } from './knex.js';
import { deleteInBatches } from './retention.js';

export type DisabledReason = 'manual' | 'gone' | 'failing';

export interface EndpointRow {
  id: number;
  client_id: number | null;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabled_reason: DisabledReason | null;
  disabled_at: Date | null;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'gone' | 'refused';

export interface DeliveryRow {
  id: number;
  endpoint_id: number;
  event_key: string;
  event_type: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  manual_retries: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The shape API clients see: never a secret, encrypted or not. */
export function toEndpoint(row: EndpointRow) {
  return {
    id: row.id,
    client_id: row.client_id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    disabled_at: row.disabled_at,
    failing_since: row.failing_since,
    previous_secret_expires_at: row.previous_secret_expires_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export async function insertEndpoint(
  trx: Trx,
  data: Pick<EndpointRow, 'client_id' | 'url' | 'description' | 'events' | 'secret_enc' | 'created_by'>,
): Promise<EndpointRow> {
  const [row] = await trx('webhook_endpoints').insert(data).returning('*');
  return row;
}

/** Endpoints not deleted, newest first; a client's own when clientId is given (a shipper key, later). */
export function listEndpoints(db: Db, clientId?: number): Promise<EndpointRow[]> {
  const q = db('webhook_endpoints').whereNull('deleted_at').orderBy('id', 'desc');
  if (clientId !== undefined) q.where('client_id', clientId);
  return q.select('*');
}

export function getEndpoint(db: Db | Trx, id: number, options: { forUpdate?: boolean } = {}): Promise<EndpointRow | undefined> {
  const q = db('webhook_endpoints').where({ id }).whereNull('deleted_at').first();
  if (options.forUpdate) q.forUpdate();
  return q;
}

export async function updateEndpoint(trx: Trx | Db, id: number, patch: Partial<EndpointRow>): Promise<EndpointRow> {
  const [row] = await trx('webhook_endpoints')
    .where({ id })
    .update({ ...patch, updated_at: trx.fn.now() })
    .returning('*');
  return row;
}

/** Endpoints' stored secrets after id `after`, in id order (deleted endpoints too: their secrets are still stored). */
export function endpointSecretsAfter(db: Db, after: number, limit: number): Promise<Pick<EndpointRow, 'id' | 'secret_enc' | 'previous_secret_enc'>[]> {
  return db('webhook_endpoints').where('id', '>', after).orderBy('id').limit(limit).select('id', 'secret_enc', 'previous_secret_enc');
}

/** Replaces an endpoint's stored secrets only if they are still what was read (a rotation in between wins). */
export async function replaceEndpointSecrets(
  db: Db,
  id: number,
  read: Pick<EndpointRow, 'secret_enc' | 'previous_secret_enc'>,
  next: Pick<EndpointRow, 'secret_enc' | 'previous_secret_enc'>,
): Promise<boolean> {
  const updated = await db('webhook_endpoints')
    .where({ id, secret_enc: read.secret_enc })
    .where((q) => (read.previous_secret_enc === null ? q.whereNull('previous_secret_enc') : q.where('previous_secret_enc', read.previous_secret_enc)))
    .update(next);
  return updated === 1;
}

/**
 * Fans an event out, in one statement: one delivery for each enabled, undeleted endpoint that
 * receives `type` for `clientId` (its own client's endpoints and the unbound ones). An event fanned
 * out again (a retried job) adds no row. Returns the event's deliveries still PENDING with their
 * endpoints, whether new or left by a run that crashed (those with `attempts` > 0 were attempted
 * by it and wait for their next attempt).
 */
export async function fanOutDeliveries(db: Db, event: { key: string; type: string; clientId: number | null; body: string }): Promise<DeliveryWithEndpoint[]> {
  // The insert's snapshot does not see its own rows: the union adds the ones an earlier run left pending.
  const { rows } = await db.raw(
    `with e as (
       select * from webhook_endpoints
        where enabled and deleted_at is null and (client_id is null or client_id = ?::bigint) and events && ?::text[]
     ), inserted as (
       insert into webhook_deliveries (endpoint_id, event_key, event_type, body, next_attempt_at)
       select e.id, ?::uuid, ?, ?, now() from e
       on conflict (endpoint_id, event_key) do nothing
       returning *
     ), pending as (
       select * from inserted
       union all
       select d.* from webhook_deliveries d where d.event_key = ?::uuid and d.status = 'PENDING' and d.endpoint_id in (select id from e)
     )
     select to_jsonb(p) as delivery, to_jsonb(e) as endpoint from pending p join e on e.id = p.endpoint_id`,
    [event.clientId, [event.type, ALL_EVENTS], event.key, event.type, event.body, event.key],
  );
  return (rows as JsonPair[]).map(fromJsonPair);
}

export interface DeliveryWithEndpoint {
  delivery: DeliveryRow;
  endpoint: EndpointRow;
}

type JsonPair = { delivery: Record<string, unknown>; endpoint: Record<string, unknown> };

/** A delivery and its endpoint as to_jsonb gives them (times as ISO text). */
function fromJsonPair({ delivery, endpoint }: JsonPair): DeliveryWithEndpoint {
  const dates = (o: Record<string, unknown>, keys: string[]) => {
    for (const k of keys) if (typeof o[k] === 'string') o[k] = new Date(o[k]);
    return o;
  };
  return {
    delivery: dates(delivery, ['next_attempt_at', 'created_at', 'updated_at']) as unknown as DeliveryRow,
    endpoint: dates(endpoint, [
      'disabled_at',
      'previous_secret_expires_at',
      'failing_since',
      'created_at',
      'updated_at',
      'deleted_at',
    ]) as unknown as EndpointRow,
  };
}

/** Deliveries with their endpoints, by delivery id, in one query (attempts of many jobs are read together). */
export async function deliveriesWithEndpoints(db: Db, ids: readonly number[]): Promise<Map<number, DeliveryWithEndpoint>> {
  const rows: JsonPair[] = await db('webhook_deliveries as d')
    .join('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .whereRaw('d.id = any(?::bigint[])', [[...ids]])
    .select(db.raw('to_jsonb(d) as delivery'), db.raw('to_jsonb(e) as endpoint'));
  return new Map(rows.map((r) => [r.delivery.id as number, fromJsonPair(r)]));
}

export interface AttemptRecord {
  deliveryId: number;
  endpointId: number;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  nextAttemptAt: Date | null;
}

const DELIVERY_STATUS: Record<AttemptOutcome, DeliveryStatus> = {
  succeeded: 'SUCCEEDED',
  retrying: 'PENDING',
  failed: 'FAILED',
  gone: 'FAILED',
  refused: 'FAILED',
};

/**
 * Logs attempts and moves their deliveries, in one statement: the attempts of many concurrent jobs
 * are written together (jobs/webhooks.ts batches them), so the database's work per attempt, not a
 * round trip and a commit each, bounds delivery throughput.
 */
export async function recordAttempts(db: Db, attempts: readonly AttemptRecord[]): Promise<void> {
  if (attempts.length === 0) return;
  const values = attempts.map((a) => ({
    delivery_id: a.deliveryId,
    endpoint_id: a.endpointId,
    attempt: a.attempt,
    started_at: a.startedAt.toISOString(),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    outcome: a.outcome,
    error: a.error?.slice(0, 500) ?? null,
    next_attempt_at: a.nextAttemptAt?.toISOString() ?? null,
    status: DELIVERY_STATUS[a.outcome],
  }));
  await db.raw(
    `with v as (
       select * from jsonb_to_recordset(?::jsonb) as x(delivery_id bigint, endpoint_id bigint, attempt integer, started_at timestamptz,
         duration_ms integer, status_code integer, outcome text, error text, next_attempt_at timestamptz, status text)),
     logged as (
       insert into webhook_attempts (delivery_id, endpoint_id, attempt, started_at, duration_ms, status_code, outcome, error, next_attempt_at)
       select delivery_id, endpoint_id, attempt, started_at, duration_ms, status_code, outcome, error, next_attempt_at from v)
     update webhook_deliveries d
        set status = v.status, attempts = d.attempts + 1, last_status_code = v.status_code, last_error = v.error,
            next_attempt_at = v.next_attempt_at, updated_at = now()
       from v
      where d.id = v.delivery_id`,
    [JSON.stringify(values)],
  );
}

/** PENDING deliveries after id `after`, in id order, `limit` at most (what a restore queues again). */
export function pendingDeliveries(
  db: Db,
  after: number,
  limit: number,
): Promise<Pick<DeliveryRow, 'id' | 'endpoint_id' | 'event_key' | 'attempts' | 'next_attempt_at'>[]> {
  return db('webhook_deliveries')
    .where('status', 'PENDING')
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit)
    .select('id', 'endpoint_id', 'event_key', 'attempts', 'next_attempt_at');
}

export async function cancelDelivery(db: Db, id: number, reason: string): Promise<void> {
  await db('webhook_deliveries')
    .where({ id, status: 'PENDING' })
    .update({ status: 'CANCELLED', last_error: reason, next_attempt_at: null, updated_at: db.fn.now() });
}

/** A success ends the endpoint's run of failures. Written only when there was one: successes are the common case. */
export async function clearFailing(db: Db, endpointId: number): Promise<void> {
  await db('webhook_endpoints').where({ id: endpointId }).whereNotNull('failing_since').update({ failing_since: null });
}

/** Starts the endpoint's run of failures (if none is running); returns when it started. */
export async function markFailing(db: Db, endpointId: number): Promise<Date> {
  const [row] = await db('webhook_endpoints')
    .where({ id: endpointId })
    .update({ failing_since: db.raw('coalesce(failing_since, now())') })
    .returning('failing_since');
  return (row as { failing_since: Date }).failing_since;
}

/** Disables an enabled endpoint; false when it was already disabled (another attempt got there first). */
export async function disableEndpoint(db: Db, endpointId: number, reason: DisabledReason): Promise<boolean> {
  const n = await db('webhook_endpoints')
    .where({ id: endpointId, enabled: true })
    .update({ enabled: false, disabled_reason: reason, disabled_at: db.fn.now(), updated_at: db.fn.now() });
  return n > 0;
}

/** Endpoints UVIS disabled after days of failures, still not re-enabled or deleted: what the operator alert counts. */
export async function autoDisabledCount(db: Db): Promise<number> {
  const row = await db('webhook_endpoints').where({ enabled: false, disabled_reason: 'failing' }).whereNull('deleted_at').first(db.raw('count(*)::int as n'));
  return Number((row as { n: number } | undefined)?.n ?? 0);
}

export interface AttemptListRow {
  id: number;
  delivery_id: number;
  event_key: string;
  event_type: string;
  delivery_status: DeliveryStatus;
  attempt: number;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  next_attempt_at: Date | null;
}

/** An endpoint's attempts, newest first, paged by id (webhook_attempts_endpoint_idx). */
export async function listAttempts(
  db: Db,
  endpointId: number,
  limit: number,
  cursor?: string,
): Promise<{ items: AttemptListRow[]; next_cursor: string | null }> {
  const q = db('webhook_attempts as a')
    .join('webhook_deliveries as d', 'd.id', 'a.delivery_id')
    .where('a.endpoint_id', endpointId)
    .orderBy('a.id', 'desc')
    .limit(limit + 1)
    .select(
      'a.id',
      'a.delivery_id',
      'd.event_key',
      'd.event_type',
      'd.status as delivery_status',
      'a.attempt',
      'a.started_at',
      'a.duration_ms',
      'a.status_code',
      'a.outcome',
      'a.error',
      'a.next_attempt_at',
    );
  if (cursor) q.where('a.id', '<', decodeCursor(cursor, ['number'])[0]!);
  const rows: AttemptListRow[] = await q;
  return page(rows, limit, (row) => [row.id]);
}

/** Locks a delivery for a manual retry. */
export function lockDelivery(trx: Trx, id: number): Promise<DeliveryRow | undefined> {
  return trx('webhook_deliveries').where({ id }).forUpdate().first();
}

export async function reopenDelivery(trx: Trx, id: number): Promise<DeliveryRow> {
  const [row] = await trx('webhook_deliveries')
    .where({ id })
    .update({ status: 'PENDING', manual_retries: trx.raw('manual_retries + 1'), next_attempt_at: trx.fn.now(), updated_at: trx.fn.now() })
    .returning('*');
  return row;
}

/** Deletes finished deliveries (and their attempts) last changed before `before`, in batches; returns how many deliveries. */
export function deleteFinishedDeliveriesBefore(db: Db, before: Date, batch = 5000): Promise<number> {
  return deleteInBatches(
    batch,
    async (limit) =>
      (
        await db.raw(
          `with old as (select id from webhook_deliveries where status <> 'PENDING' and updated_at < ? limit ?),
                gone as (delete from webhook_attempts where delivery_id in (select id from old))
           delete from webhook_deliveries where id in (select id from old)`,
          [before, limit],
        )
      ).rowCount ?? 0,
  );
}
