/** The transactional outbox: rows written with the change they announce, relayed to BullMQ afterwards. */
import type { z } from 'zod';
import type { OutboxEvent } from '../domain/events.js';
import type { Db, Trx } from './knex.js';

export interface OutboxRow {
  id: number;
  /** Names the job: unlike the id, never reused after a restore. */
  job_key: string;
  queue: string;
  job_name: string;
  payload: Record<string, unknown>;
}

/**
 * Writes one of the events of domain/events.ts, its payload checked against the event's
 * schema first (a malformed payload fails the write, not the job an hour later). Must be
 * called inside the transaction that makes the change; returns the event id.
 */
export function writeEvent<P extends z.ZodObject>(trx: Trx, event: OutboxEvent<P>, payload: z.input<P>): Promise<number> {
  return writeOutbox(trx, event.queue, event.job, event.payload.parse(payload) as Record<string, unknown>);
}

/** Must be called inside the transaction that makes the change; returns the event id. */
export async function writeOutbox(trx: Trx, queue: string, jobName: string, payload: Record<string, unknown>): Promise<number> {
  const [row] = await trx('outbox').insert({ queue, job_name: jobName, payload }).returning('id');
  return (row as { id: number }).id;
}

/**
 * Locks a batch of unpublished rows for queues this process knows; other relays skip
 * them. A row for a queue only newer code knows waits for that code instead of
 * blocking every row behind it.
 */
export function claimUnpublished(trx: Trx, queues: string[], limit: number): Promise<OutboxRow[]> {
  return trx('outbox')
    .select('id', 'job_key', 'queue', 'job_name', 'payload')
    .whereNull('published_at')
    .whereIn('queue', queues)
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .skipLocked();
}

export async function markPublished(trx: Trx, ids: number[]): Promise<void> {
  await trx('outbox').whereIn('id', ids).update({ published_at: trx.fn.now() });
}

export async function recordRelayFailure(db: Db, ids: number[], error: string): Promise<void> {
  await db('outbox')
    .whereIn('id', ids)
    .update({ attempts: db.raw('attempts + 1'), last_error: error.slice(0, 1000) });
}

export async function pendingOutbox(db: Db): Promise<{ count: number; oldestAgeSeconds: number }> {
  const row = await db('outbox')
    .whereNull('published_at')
    .first(db.raw('count(*)::int as count'), db.raw('coalesce(extract(epoch from now() - min(created_at)), 0)::float as age'));
  return { count: Number(row?.count ?? 0), oldestAgeSeconds: Number(row?.age ?? 0) };
}

/** Published rows are kept a while for inspection, then removed. */
export async function deletePublishedBefore(db: Db, before: Date): Promise<number> {
  return db('outbox').whereNotNull('published_at').where('published_at', '<', before).delete();
}

/**
 * Outbox rows that were waiting when the backup was taken come back with their old
 * job_key, and Redis may still hold a finished job of that id (it was relayed after
 * the backup): BullMQ would silently ignore the new add, and the change would never
 * be processed in the restored data. New keys make them new jobs.
 */
export async function rekeyUnpublished(db: Db): Promise<number> {
  return db('outbox')
    .whereNull('published_at')
    .update({ job_key: db.raw('gen_random_uuid()') });
}
