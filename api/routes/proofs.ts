/**
 * Proof of delivery (issue 17; DESIGN.md "Proof of delivery"): the driver uploads photos and
 * signatures of their own dispatch; staff, that driver and the order's shipper key list them and
 * fetch the stored images; anyone else gets a 404, as for a dispatch that does not exist.
 */
import { pipeline } from 'node:stream/promises';
import { getDispatch } from '../../db/dispatches.js';
import { getOrder } from '../../db/orders.js';
import { countDispatchProofs, getProof, listDispatchProofs, proofKindsOf, toProof } from '../../db/proofs.js';
import { MAX_PROOFS_PER_DISPATCH, PROOF_MAX_BYTES, missingProofs } from '../../domain/proofs.js';
import { BackupNotFoundError } from '../../backups/storage.js';
import { AppError, NotFoundError, UnavailableError, ValidationError } from '../../lib/errors/index.js';
import { reencodeProofImage } from '../../use-cases/proof-images.js';
import { addProof, proofLimitError, storeProofImage } from '../../use-cases/proofs.js';
import type { AppDeps } from '../deps.js';
import { readableDispatch, readableDispatchById } from '../dispatch-access.js';
import { idempotencyKey, idempotentTransaction } from '../idempotency.js';
import { receiveProofUpload } from '../proof-upload.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { Proof, ProofFields, ProofList, ProofUploadForm } from '../schemas/proofs.js';

const CLOSE = { Connection: 'close' };
const notFound = { 404: { description: 'No such dispatch (among your own, for a driver; your client’s, for a shipper key)', schema: ErrorResponse } };

export function proofRoutes(deps: AppDeps): RouteSpec[] {
  const { db, config } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/mobile/dispatches/:id/proofs',
      summary: 'Add a proof of delivery (a photo or a signature) to an own dispatch',
      description:
        'multipart/form-data with `kind` (photo or signature; send it before `file`), `file`, and optionally `recipient_name` and `note`. ' +
        'The body is read as a stream: a file past its limit (photo 10 MiB, signature 512 KiB) is refused with 413 the moment it passes it, and bytes that ' +
        'are not a JPEG, PNG or WebP image with 415 from their first kilobytes. The image is decoded and encoded anew (orientation applied; EXIF with GPS ' +
        `and camera, and all other metadata removed; long side at most 2560 px) and stored privately. At most ${MAX_PROOFS_PER_DISPATCH} proofs per dispatch. ` +
        'The order’s shipper receives `proof.added` as a webhook.',
      tags: ['mobile', 'proofs'],
      auth: 'driver',
      params: IdParams,
      multipart: ProofUploadForm,
      idempotencyKey: true,
      responses: {
        201: { description: 'Stored', schema: Proof },
        ...notFound,
        409: { description: `The dispatch already has ${MAX_PROOFS_PER_DISPATCH} proofs (proof_limit_reached)`, schema: ErrorResponse },
        413: { description: 'The file (or the whole body) is larger than its kind allows', schema: ErrorResponse },
        415: { description: 'Not multipart/form-data, or the file is not a JPEG, PNG or WebP image by its bytes', schema: ErrorResponse },
        422: {
          description:
            'The image cannot be decoded (truncated, corrupt: image_unreadable) or declares more than 50 million pixels (image_too_large); or the Idempotency-Key was used for a different request',
          schema: ErrorResponse,
        },
        503: { description: 'PostgreSQL or the proof storage unavailable; retry with the same Idempotency-Key', schema: ErrorResponse },
      },
      handler: async ({ req, params, principal, log }) => {
        const driverId = principal.driverId!;
        // Before a byte of the body is read: another driver's dispatch, or a full one, is answered at once.
        const dispatch = await getDispatch(db, params.id);
        if (!dispatch || dispatch.driver_id !== driverId) throw new AppError(404, 'not_found', 'dispatch not found', null, CLOSE);
        // A retry with an Idempotency-Key must reach its stored answer even when that upload filled the dispatch:
        // with a key, the limit is left to the transaction (after the key's lookup, under the dispatch's lock).
        if (idempotencyKey(req) === undefined && (await countDispatchProofs(db, dispatch.id)) >= MAX_PROOFS_PER_DISPATCH) {
          const full = proofLimitError(dispatch.id);
          throw new AppError(full.status, full.code, full.message, full.details, CLOSE);
        }
        const upload = await receiveProofUpload(req, config.backup.uploadsDir);
        try {
          const parsed = ProofFields.safeParse(upload.fields);
          const problems = parsed.success ? [] : parsed.error.issues.map((i) => ({ field: ['body', ...i.path.map(String)].join('.'), message: i.message }));
          if (!upload.file) problems.push({ field: 'body.file', message: 'Required' });
          if (!parsed.success || !upload.file) throw new ValidationError('request is invalid', problems);
          const fields = parsed.data;
          // A file sent before its kind was held to the photo limit while it was read.
          if (upload.file.bytes > PROOF_MAX_BYTES[fields.kind]) {
            throw new AppError(413, 'file_too_large', `a ${fields.kind} may be at most ${PROOF_MAX_BYTES[fields.kind]} bytes`, {
              kind: fields.kind,
              limit_bytes: PROOF_MAX_BYTES[fields.kind],
            });
          }
          const image = await reencodeProofImage(upload.file.path, fields.kind);
          const storage = await deps.proofStorage();
          const stored = await storeProofImage(storage, image).catch((err: unknown) => {
            log.warn({ err }, 'could not store a proof image');
            throw new UnavailableError('storage', 'the proof storage is unavailable; retry with the same Idempotency-Key');
          });
          let recorded = false;
          try {
            // The fingerprint of a retry: the same fields and the same file bytes (as sent, before re-encoding).
            const fingerprint = {
              kind: fields.kind,
              recipient_name: fields.recipient_name ?? null,
              note: fields.note ?? null,
              file_sha256: upload.file.sha256,
            };
            const result = await idempotentTransaction(deps, req, { userId: principal.userId }, fingerprint, async (tx) => {
              const row = await addProof(tx, {
                dispatchId: dispatch.id,
                driverId,
                userId: principal.userId,
                kind: fields.kind,
                recipientName: fields.recipient_name ?? null,
                note: fields.note ? fields.note : null,
                stored,
              });
              recorded = true;
              return reply(201, toProof(row));
            });
            if (recorded) {
              deps.live.publish({
                type: 'proof',
                proof_id: (result.body as { id: number }).id,
                dispatch_id: dispatch.id,
                kind: fields.kind,
                at: new Date().toISOString(),
              });
            } else {
              // A replay: the first request's image is the proof; this copy is not needed.
              await storage.delete(stored.key);
            }
            return result;
          } catch (err) {
            // The row did not commit: its image must not stay.
            await storage
              .delete(stored.key)
              .catch((deleteErr: unknown) => log.error({ err: deleteErr, key: stored.key }, 'could not delete an unrecorded proof image'));
            throw err;
          }
        } finally {
          await upload.cleanup();
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/dispatches/:id/proofs',
      summary: "A dispatch's proofs of delivery, oldest first, with what its order requires and what is missing",
      description:
        "Staff see any dispatch's; a driver only their own; a shipper's API key its client's (another's is a 404, as if it did not exist). " +
        'Each proof links its stored image (`file_url`).',
      tags: ['dispatches', 'proofs'],
      auth: 'authenticated',
      shipperKey: true,
      params: IdParams,
      responses: { 200: { description: 'The proofs', schema: ProofList }, ...notFound },
      handler: async ({ params, principal, shipper }) => {
        const dispatch = await readableDispatchById(db, { principal, shipper }, params.id);
        const order = await getOrder(db, dispatch.order_id);
        const required = order?.proof_required ?? [];
        const items = await listDispatchProofs(db, dispatch.id);
        return reply(200, {
          dispatch_id: dispatch.id,
          required,
          missing: missingProofs(required, await proofKindsOf(db, dispatch.id)),
          items: items.map(toProof),
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/proofs/:id/file',
      summary: 'The stored image of a proof (JPEG for photos, PNG for signatures)',
      description:
        "Who may read the proof's dispatch may read its image: staff, the dispatch's driver, the order's shipper key; anyone else gets a 404. " +
        'The image is the re-encoded one, without metadata; its SHA-256 is the `ETag` and the `sha256` of the proof.',
      tags: ['proofs'],
      auth: 'authenticated',
      shipperKey: true,
      params: IdParams,
      responses: {
        200: { description: 'The image', contentType: 'image/jpeg', schema: ProofUploadForm.shape.file },
        404: { description: 'No such proof (or not yours to see)', schema: ErrorResponse },
      },
      handler: async ({ params, principal, shipper, res, log }) => {
        const proof = await getProof(db, params.id);
        const dispatch = proof ? await getDispatch(db, proof.dispatch_id) : undefined;
        const clientId = shipper && dispatch ? (await getOrder(db, dispatch.order_id))?.client_id : undefined;
        try {
          readableDispatch({ principal, shipper }, dispatch && { ...dispatch, client_id: clientId });
        } catch {
          throw new NotFoundError('proof');
        }
        const storage = await deps.proofStorage();
        let body;
        try {
          body = await storage.get(proof!.storage_key);
        } catch (err) {
          if (err instanceof BackupNotFoundError) {
            log.error({ proofId: proof!.id, key: proof!.storage_key }, 'a proof’s stored image is missing');
            throw new AppError(404, 'proof_file_missing', 'the stored image of this proof is missing');
          }
          log.warn({ err, proofId: proof!.id }, 'could not read a proof image');
          throw new UnavailableError('storage', 'the proof storage is unavailable; retry shortly');
        }
        res.status(200);
        res.set({
          'Content-Type': proof!.content_type,
          'Content-Length': String(proof!.bytes),
          'Content-Disposition': `inline; filename="proof-${proof!.id}.${proof!.content_type === 'image/png' ? 'png' : 'jpg'}"`,
          ETag: `"${proof!.sha256}"`,
          // Personal data behind a sign-in: no shared cache may keep it.
          'Cache-Control': 'private, no-store',
        });
        // pipeline closes the storage's stream when the client goes away, and the socket when the storage fails.
        await pipeline(body, res).catch((err: unknown) => {
          if (!res.writableFinished) log.warn({ err, proofId: proof!.id }, 'a proof image was not sent whole');
        });
      },
    }),
  ];
}
