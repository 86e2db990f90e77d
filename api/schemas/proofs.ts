/** Proof of delivery (DESIGN.md "Proof of delivery"): the upload form, a proof, a dispatch's list, and the requirement on orders and clients. */
import { z } from 'zod';
import { PROOF_KINDS, PROOF_MAX_BYTES, normalizeProofKinds, type ProofKind } from '../../domain/proofs.js';
import { FreeText } from './common.js';

const ProofKindSchema = z.enum(PROOF_KINDS);

/**
 * Which proofs an order requires before DELIVERED (or a skip past it): a list of kinds. The single words
 * `photo`, `signature` and `both` are accepted as well, and `null` or `[]` mean none. Always answered as a list.
 */
export const ProofRequirement = z
  .union([z.array(ProofKindSchema).max(10), z.enum(['photo', 'signature', 'both']), z.null()])
  .transform((v): ProofKind[] => (v === null ? [] : v === 'both' ? [...PROOF_KINDS] : typeof v === 'string' ? [v] : normalizeProofKinds(v)))
  .meta({
    description:
      'Proofs required before the dispatch may become DELIVERED or COMPLETED: a list of `photo`, `signature` (or the words `photo`, `signature`, `both`; `null` or `[]` for none)',
    example: ['photo', 'signature'],
  });

export const ProofKinds = z.array(ProofKindSchema).meta({ example: ['photo', 'signature'] });

/** The form's text fields, validated once the form is read (the file is checked by what its bytes are). */
export const ProofFields = z.strictObject({
  kind: ProofKindSchema,
  recipient_name: FreeText({ max: 200 }).optional(),
  note: FreeText({ max: 1000, trim: false, allowEmpty: true }).optional(),
});

/** The multipart body as the reference shows it. */
export const ProofUploadForm = z
  .object({
    kind: ProofKindSchema.meta({ description: 'What the image proves: a photo of the delivery, or the recipient’s signature. Send it before `file`.' }),
    file: z.string().meta({
      format: 'binary',
      description:
        `The image: JPEG, PNG or WebP, by its bytes (the file name and declared type are ignored). A photo up to ${PROOF_MAX_BYTES.photo} bytes (10 MiB), ` +
        `a signature up to ${PROOF_MAX_BYTES.signature} (512 KiB). Re-encoded before it is stored: orientation applied, all metadata (EXIF, GPS, camera) removed, long side at most 2560 px.`,
    }),
    recipient_name: z.string().max(200).optional().meta({ description: 'Who received the goods', example: '김수령' }),
    note: z.string().max(1000).optional().meta({ description: 'A note about the delivery', example: '경비실 보관' }),
  })
  .meta({ id: 'ProofUpload' });

export const Proof = z
  .object({
    id: z.number(),
    dispatch_id: z.number(),
    kind: ProofKindSchema,
    content_type: z.enum(['image/jpeg', 'image/png']).meta({ description: 'Of the stored image: photos are JPEG, signatures PNG' }),
    bytes: z.number().meta({ description: 'Size of the stored image' }),
    width: z.number(),
    height: z.number(),
    sha256: z.string().meta({ description: 'SHA-256 (hex) of the stored image: what GET /proofs/{id}/file answers' }),
    recipient_name: z.string().nullable(),
    note: z.string().nullable(),
    uploaded_by: z.number().nullable(),
    created_at: z.string(),
    file_url: z.string().meta({ example: '/api/v1/proofs/12/file' }),
  })
  .meta({ id: 'Proof' });

export const ProofList = z
  .object({
    dispatch_id: z.number(),
    required: ProofKinds.meta({ description: "The order's requirement" }),
    missing: ProofKinds.meta({ description: 'Required kinds without a proof yet: DELIVERED is refused while this is not empty' }),
    items: z.array(Proof),
  })
  .meta({ id: 'ProofList' });
