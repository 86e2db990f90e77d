/**
 * Idempotency-Key records for writes that go through PostgreSQL. The key is
 * claimed in the same transaction as the write and its response is stored there
 * too, so a retry either finds the complete first answer or runs the write anew.
 */
import type { Db, Trx } from './knex.js';

export interface StoredResponse {
  requestHash: string;
  statusCode: number;
  body: unknown;
}

/**
 * Who an Idempotency-Key belongs to: `user:<id>` for a signed-in user, `key:<id>` for an API key
 * (migration 0013); one owner's keys never meet another's.
 */
export type IdempotencyOwner = { userId: number } | { apiKeyId: number };

const ownerColumns = (owner: IdempotencyOwner) =>
  'userId' in owner ? { owner: `user:${owner.userId}`, user_id: owner.userId } : { owner: `key:${owner.apiKeyId}`, user_id: null };

/**
 * Claims (owner, key) inside trx. Returns undefined when this request owns the key,
 * or the stored first response. A concurrent request with the same key waits on the
 * unique index until the first transaction ends.
 */
export async function claimKey(
  trx: Trx,
  claim: { owner: IdempotencyOwner; key: string; method: string; path: string; requestHash: string },
): Promise<StoredResponse | undefined> {
  const owner = ownerColumns(claim.owner);
  const inserted = await trx('idempotency_keys')
    .insert({ ...owner, key: claim.key, method: claim.method, path: claim.path, request_hash: claim.requestHash })
    .onConflict(['owner', 'key'])
    .ignore()
    .returning('key');
  if (inserted.length > 0) return undefined;
  const row = await trx('idempotency_keys').where({ owner: owner.owner, key: claim.key }).first('request_hash', 'status_code', 'response', 'method', 'path');
  return { requestHash: row.request_hash, statusCode: row.status_code, body: row.response };
}

export async function storeResponse(trx: Trx, owner: IdempotencyOwner, key: string, statusCode: number, body: unknown): Promise<void> {
  await trx('idempotency_keys')
    .where({ owner: ownerColumns(owner).owner, key })
    .update({ status_code: statusCode, response: JSON.stringify(body) });
}

export async function deleteKeysBefore(db: Db, before: Date): Promise<number> {
  return db('idempotency_keys').where('created_at', '<', before).delete();
}
