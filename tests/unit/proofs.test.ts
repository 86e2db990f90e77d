/** Proof-of-delivery rules without I/O (domain/proofs.ts) and how a requirement is read (api/schemas/proofs.ts). */
import { describe, expect, it } from 'vitest';
import { ProofRequirement } from '../../api/schemas/proofs.js';
import { DISPATCH_STATUSES } from '../../domain/dispatch-status.js';
import { missingProofs, needsProofFor, normalizeProofKinds } from '../../domain/proofs.js';

describe('proof of delivery rules', () => {
  it('gates exactly the statuses that hand the goods over: DELIVERED and COMPLETED', () => {
    expect(DISPATCH_STATUSES.filter(needsProofFor)).toEqual(['DELIVERED', 'COMPLETED']);
  });

  it('names the required kinds without a proof, in a stable order', () => {
    expect(missingProofs([], [])).toEqual([]);
    expect(missingProofs(['signature', 'photo'], [])).toEqual(['photo', 'signature']);
    expect(missingProofs(['photo', 'signature'], ['photo'])).toEqual(['signature']);
    expect(missingProofs(['photo'], ['signature'])).toEqual(['photo']);
    expect(missingProofs(['photo', 'signature'], ['signature', 'photo'])).toEqual([]);
    expect(normalizeProofKinds(['signature', 'photo', 'signature'])).toEqual(['photo', 'signature']);
  });

  it('reads a requirement as a list, or as photo, signature or both; null and [] are none; anything else is refused', () => {
    const read = (v: unknown) => ProofRequirement.safeParse(v);
    expect(read(['photo']).data).toEqual(['photo']);
    expect(read(['signature', 'photo', 'photo']).data).toEqual(['photo', 'signature']);
    expect(read('both').data).toEqual(['photo', 'signature']);
    expect(read('signature').data).toEqual(['signature']);
    expect(read(null).data).toEqual([]);
    expect(read([]).data).toEqual([]);
    for (const bad of ['selfie', ['photo', 'selfie'], 'PHOTO', 1, { photo: true }]) expect(read(bad).success, JSON.stringify(bad)).toBe(false);
  });
});
