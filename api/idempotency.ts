/**
 * Idempotency-Key for writes through PostgreSQL: the key is claimed and the first
 * response stored in the same transaction as the write. A retry with the same key
 * gets that response (and Idempotent-Replayed: true) and changes nothing; the same
 * key with a different request is refused with 422.
 */
import { createHash } from 'node:crypto';
import { claimKey, storeResponse, type IdempotencyOwner } from '../db/idempotency.js';
import { AppError, ValidationError } from '../lib/errors/index.js';
import type { AppDeps } from './deps.js';
import type { Reply } from './route.js';
import { transaction, type Tx } from '../use-cases/transaction.js';
import type { Request } from 'express';

const KEY_FORMAT = /^[\x21-\x7e]{1,200}$/;

/** The Idempotency-Key header, validated; undefined when absent. */
export function idempotencyKey(req: Request): string | undefined {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return undefined;
  if (!KEY_FORMAT.test(key)) {
    throw new ValidationError('invalid Idempotency-Key', [{ field: 'headers.idempotency-key', message: '1 to 200 visible ASCII characters' }]);
  }
  return key;
}

export function requestFingerprint(req: Request, body: unknown): string {
  return createHash('sha256')
    .update(`${req.method} ${req.baseUrl}${req.path}\n${JSON.stringify(body ?? null)}`)
    .digest('hex');
}

export async function idempotentTransaction(
  deps: AppDeps,
  req: Request,
  owner: IdempotencyOwner,
  body: unknown,
  work: (tx: Tx) => Promise<Reply>,
): Promise<Reply> {
  const key = idempotencyKey(req);
  if (!key) return transaction(deps, work);
  const requestHash = requestFingerprint(req, body);
  return transaction(deps, async (tx) => {
    const stored = await claimKey(tx.trx, {
      owner,
      key,
      method: req.method,
      path: `${req.baseUrl}${req.path}`,
      requestHash,
    });
    if (stored) {
      if (stored.requestHash !== requestHash) {
        throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request');
      }
      return { status: stored.statusCode, body: stored.body, headers: { 'Idempotent-Replayed': 'true' } };
    }
    const result = await work(tx);
    await storeResponse(tx.trx, owner, key, result.status, result.body);
    return result;
  });
}
