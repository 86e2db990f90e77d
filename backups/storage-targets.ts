/**
 * The configured backup targets, as BackupStorage objects. Kept apart from the
 * interface (storage.ts), which the targets themselves import.
 */
import type { BackupConfig } from '../lib/config.js';
import { LocalStorage } from './local-storage.js';
import type { BackupStorage } from './storage.js';

/** The configured targets, in order. The AWS SDK is loaded only when S3 is one of them (it is large). */
export async function createStorages(config: BackupConfig): Promise<BackupStorage[]> {
  return Promise.all(
    config.targets.map(async (target) => {
      if (target === 'local') return new LocalStorage(config.dir);
      const { S3Storage } = await import('./s3-storage.js');
      return new S3Storage(config.s3);
    }),
  );
}
