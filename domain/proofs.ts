/**
 * Proof of delivery (DESIGN.md "Proof of delivery"): what a proof is, how large it may be, and the
 * rule that gates delivery. Pure: the upload pipeline (api/proof-upload.ts) and the status change
 * (use-cases/dispatches.ts) apply it.
 */
import type { DispatchStatus } from './dispatch-status.js';

export const PROOF_KINDS = ['photo', 'signature'] as const;
export type ProofKind = (typeof PROOF_KINDS)[number];

/** Largest file accepted per kind, counted while it is read (413 beyond): a phone photo, a signature pad's image. */
export const PROOF_MAX_BYTES: Record<ProofKind, number> = { photo: 10 * 1024 * 1024, signature: 512 * 1024 };

/** At most this many proofs per dispatch: enough for a few angles and a signature, not a photo album. */
export const MAX_PROOFS_PER_DISPATCH = 10;

/** Stored images are at most this many pixels on their long side (a phone's 12–50 MP shrinks to about 4 MP). */
export const PROOF_MAX_SIDE = 2560;

/**
 * Images declaring more pixels than this are refused before any is decoded: a PNG "bomb" declares
 * 100,000 × 100,000 in a few kilobytes. 50 MP still takes a phone's 48 MP mode (8064 × 6048).
 */
export const PROOF_MAX_INPUT_PIXELS = 50_000_000;

/** What is stored: photos as JPEG (smaller for camera images), signatures as PNG (lossless line art, transparency kept). */
export const PROOF_STORED_TYPE: Record<ProofKind, { contentType: 'image/jpeg' | 'image/png'; extension: 'jpg' | 'png' }> = {
  photo: { contentType: 'image/jpeg', extension: 'jpg' },
  signature: { contentType: 'image/png', extension: 'png' },
};

/** Image types accepted, by what the bytes say (never by the name or the declared type). */
export const ACCEPTED_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

/** A set of required kinds in a stable order, duplicates dropped: how it is stored and shown. */
export function normalizeProofKinds(kinds: readonly ProofKind[]): ProofKind[] {
  return PROOF_KINDS.filter((k) => kinds.includes(k));
}

/**
 * The statuses that hand the goods over: reaching DELIVERED, or skipping past it to COMPLETED
 * (the seed's client goes straight from ASSIGNED to COMPLETED), needs the required proofs.
 */
export function needsProofFor(to: DispatchStatus): boolean {
  return to === 'DELIVERED' || to === 'COMPLETED';
}

/** The required kinds the dispatch has no proof of yet, in a stable order; empty when nothing is missing. */
export function missingProofs(required: readonly ProofKind[], present: readonly ProofKind[]): ProofKind[] {
  return normalizeProofKinds(required).filter((k) => !present.includes(k));
}
