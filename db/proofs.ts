/** Proofs of delivery (migration 0015): the rows that say which stored image belongs to which dispatch. */
import type { ProofKind } from '../domain/proofs.js';
import type { Db, Trx } from './knex.js';

export interface ProofRow {
  id: number;
  dispatch_id: number;
  kind: ProofKind;
  storage_key: string;
  content_type: 'image/jpeg' | 'image/png';
  bytes: number;
  width: number;
  height: number;
  sha256: string;
  recipient_name: string | null;
  note: string | null;
  uploaded_by: number | null;
  created_at: Date;
}

/** A proof as the API shows it: never the storage key (where it is kept is not the caller's business). */
export function toProof(row: ProofRow) {
  return {
    id: row.id,
    dispatch_id: row.dispatch_id,
    kind: row.kind,
    content_type: row.content_type,
    bytes: row.bytes,
    width: row.width,
    height: row.height,
    sha256: row.sha256,
    recipient_name: row.recipient_name,
    note: row.note,
    uploaded_by: row.uploaded_by,
    created_at: row.created_at,
    file_url: `/api/v1/proofs/${row.id}/file`,
  };
}
export type Proof = ReturnType<typeof toProof>;

export async function insertProof(trx: Trx, data: Omit<ProofRow, 'id' | 'created_at'>): Promise<ProofRow> {
  const [row] = await trx('proofs').insert(data).returning('*');
  return row;
}

export function getProof(db: Db | Trx, id: number): Promise<ProofRow | undefined> {
  return db('proofs').where({ id }).first();
}

/** A dispatch's proofs in the order they were taken (the (dispatch_id, created_at, id) index). */
export function listDispatchProofs(db: Db | Trx, dispatchId: number): Promise<ProofRow[]> {
  return db('proofs')
    .where({ dispatch_id: dispatchId })
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
}

export async function countDispatchProofs(db: Db | Trx, dispatchId: number): Promise<number> {
  const [row] = await db('proofs').where({ dispatch_id: dispatchId }).count<{ n: string }[]>('* as n');
  return Number(row!.n);
}

/** The kinds a dispatch has at least one proof of (what the delivery gate compares with the order's requirement). */
export async function proofKindsOf(db: Db | Trx, dispatchId: number): Promise<ProofKind[]> {
  const rows: { kind: ProofKind }[] = await db('proofs').where({ dispatch_id: dispatchId }).distinct('kind');
  return rows.map((r) => r.kind);
}

/** Proof counts per kind for many dispatches at once (the dashboard's list), keyed by dispatch id. */
export async function proofCountsOf(db: Db, dispatchIds: number[]): Promise<Map<number, Record<ProofKind, number>>> {
  if (dispatchIds.length === 0) return new Map();
  const rows: { dispatch_id: number; photo: number; signature: number }[] = await db('proofs')
    .whereIn('dispatch_id', dispatchIds)
    .groupBy('dispatch_id')
    .select(
      'dispatch_id',
      db.raw(`count(*) filter (where kind = 'photo')::int as photo`),
      db.raw(`count(*) filter (where kind = 'signature')::int as signature`),
    );
  return new Map(rows.map((r) => [r.dispatch_id, { photo: r.photo, signature: r.signature }]));
}

/** Storage keys of every proof, a page at a time by id (the weekly backup copies the files they name). */
export async function proofKeysAfter(db: Db, afterId: number, limit: number): Promise<{ id: number; storage_key: string }[]> {
  return db('proofs').where('id', '>', afterId).orderBy('id').limit(limit).select('id', 'storage_key');
}

/** The oldest proofs taken before the cutoff, at most `limit` (the created_at index): retention's next batch. */
export function expiredProofs(db: Db, cutoff: Date, limit: number): Promise<{ id: number; storage_key: string }[]> {
  return db('proofs').where('created_at', '<', cutoff).orderBy('created_at').limit(limit).select('id', 'storage_key');
}

export async function deleteProofs(db: Db, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  return db('proofs').whereIn('id', ids).delete();
}

/** Whether a storage key belongs to a proof row (the leftovers sweep keeps those). */
export async function knownProofKeys(db: Db, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows: { storage_key: string }[] = await db('proofs').whereIn('storage_key', keys).select('storage_key');
  return new Set(rows.map((r) => r.storage_key));
}
