/**
 * Where proof-of-delivery images are kept (DESIGN.md "Proof of delivery": "stored through the same
 * storage targets as backups"): the backups' own LocalStorage and S3Storage, so a write is complete
 * or absent (a .partial file renamed after an fsync; an S3 object that appears only once uploaded),
 * keys cannot escape their folder, and nothing is public (files 0600, S3 objects without an ACL).
 *
 * local keeps them in UPLOADS_DIR, which the weekly backup archives whole; s3 in the BACKUP_S3_*
 * bucket under its prefix, which the weekly backup copies into its archive (proof-files.ts).
 * Keys start with `proofs/` either way, beside the backups' `daily/`, `weekly/`, `manual/`.
 */
import { randomUUID } from 'node:crypto';
import type { BackupConfig, ProofConfig } from '../lib/config.js';
import { LocalStorage } from './local-storage.js';
import type { BackupStorage } from './storage.js';

export const PROOF_KEY_PREFIX = 'proofs/';

/** Where the API receives uploads inside UPLOADS_DIR before they are proofs (api/proof-upload.ts); the weekly backup leaves it out. */
export const INCOMING_UPLOADS = '.incoming';

/** The configured proof storage. The AWS SDK is loaded only when it is S3 (it is large). */
export async function createProofStorage(config: { backup: BackupConfig; proofs: ProofConfig }): Promise<BackupStorage> {
  if (config.proofs.storage === 'local') return new LocalStorage(config.backup.uploadsDir);
  const { S3Storage } = await import('./s3-storage.js');
  return new S3Storage(config.backup.s3);
}

/** A new proof's key: by month (listings and lifecycle rules stay simple), a random name (nothing to guess or collide). */
export function newProofKey(extension: string, at = new Date()): string {
  const month = `${at.getUTCFullYear()}/${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${PROOF_KEY_PREFIX}${month}/${randomUUID()}.${extension}`;
}
