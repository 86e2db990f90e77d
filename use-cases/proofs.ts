/**
 * Adding a proof of delivery (DESIGN.md "Proof of delivery"). The image is re-encoded
 * (proof-images.ts) and stored first, outside any transaction (an upload to S3 must not hold the
 * dispatch's lock); then one short transaction checks the dispatch again under its lock, counts
 * its proofs, inserts the row and announces `proof.added` to the shipper's webhooks through the
 * outbox. The caller deletes the stored file when that transaction does not commit it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { newProofKey } from '../backups/proof-storage.js';
import type { BackupStorage } from '../backups/storage.js';
import { lockDispatch } from '../db/dispatches.js';
import type { Db } from '../db/knex.js';
import { countDispatchProofs, deleteProofs, expiredProofs, insertProof, toProof, type ProofRow } from '../db/proofs.js';
import { deleteInBatches } from '../db/retention.js';
import { MAX_PROOFS_PER_DISPATCH, type ProofKind } from '../domain/proofs.js';
import { ConflictError, NotFoundError } from '../lib/errors/index.js';
import { announceWebhook } from './announce.js';
import type { ProofImage } from './proof-images.js';
import type { Tx } from './transaction.js';

export interface StoredProofImage {
  key: string;
  bytes: number;
  sha256: string;
  image: ProofImage;
}

/** Stores a re-encoded image under a new key; the SHA-256 is of exactly the bytes stored. */
export async function storeProofImage(storage: BackupStorage, image: ProofImage): Promise<StoredProofImage> {
  const key = newProofKey(image.extension);
  const sha256 = createHash('sha256').update(image.data).digest('hex');
  const bytes = await storage.put(key, Readable.from([image.data]));
  return { key, bytes, sha256, image };
}

export function proofLimitError(dispatchId: number): ConflictError {
  return new ConflictError(`dispatch ${dispatchId} already has ${MAX_PROOFS_PER_DISPATCH} proofs, the most it may have`, 'proof_limit_reached', {
    limit: MAX_PROOFS_PER_DISPATCH,
  });
}

export interface AddProofInput {
  dispatchId: number;
  /** The driver adding it: only the dispatch's own driver may (another's dispatch is a 404). */
  driverId: number;
  userId: number;
  kind: ProofKind;
  recipientName: string | null;
  note: string | null;
  stored: StoredProofImage;
}

/** Records a stored image as a proof of the driver's own dispatch; 404 for another's, 409 past the limit. */
export async function addProof(tx: Tx, input: AddProofInput): Promise<ProofRow> {
  // The dispatch's lock (its order's first, as every writer takes them): concurrent uploads count one after another.
  const locked = await lockDispatch(tx.trx, input.dispatchId);
  if (!locked || locked.dispatch.driver_id !== input.driverId) throw new NotFoundError('dispatch');
  if ((await countDispatchProofs(tx.trx, input.dispatchId)) >= MAX_PROOFS_PER_DISPATCH) throw proofLimitError(input.dispatchId);
  const { stored } = input;
  const row = await insertProof(tx.trx, {
    dispatch_id: input.dispatchId,
    kind: input.kind,
    storage_key: stored.key,
    content_type: stored.image.contentType,
    bytes: stored.bytes,
    width: stored.image.width,
    height: stored.image.height,
    sha256: stored.sha256,
    recipient_name: input.recipientName,
    note: input.note,
    uploaded_by: input.userId,
  });
  const { order } = locked;
  // The shipper's event: the proof as the API shows it (no storage key), without the uploader.
  const { id, uploaded_by: _uploadedBy, ...proof } = toProof(row);
  await announceWebhook(tx, 'proof.added', order.client_id, { proof_id: id, order_id: order.id, client_id: order.client_id, ...proof }, row.created_at);
  return row;
}

/**
 * Retention (PROOF_RETENTION_DAYS): proofs taken before the cutoff go, image first and row after, a
 * batch at a time. The rows are the to-do list: a run that stops between the two finds the same rows
 * next time (deleting an image twice is harmless), and no row ever points at an image already gone
 * for longer than one batch. Returns how many proofs were removed.
 */
export function purgeExpiredProofs(db: Db, storage: BackupStorage, cutoff: Date, batchSize = 200): Promise<number> {
  return deleteInBatches(batchSize, async (limit) => {
    const batch = await expiredProofs(db, cutoff, limit);
    for (const proof of batch) await storage.delete(proof.storage_key);
    await deleteProofs(
      db,
      batch.map((p) => p.id),
    );
    return batch.length;
  });
}
