/** Fetching a backup from several targets: the first good copy serves, and the others are named with their reason. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../backups/local-storage.js';
import type { BackupRow } from '../../backups/manifest.js';
import { DamagedBackupError, fetchVerified } from '../../backups/restore.js';
import { BackupNotFoundError, type BackupStorage } from '../../backups/storage.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const KEY = 'manual/2026-01-01/uvis-manual-x.dump';
const GOOD = Buffer.from('PGDMP a complete dump');

/** A folder target under the given name, holding the good bytes, damaged bytes or nothing. */
function target(name: 'local' | 's3', content: 'good' | 'damaged' | 'missing'): BackupStorage {
  const dir = mkdtempSync(join(tmpdir(), 'uvis-fetch-'));
  roots.push(dir);
  if (content !== 'missing') {
    mkdirSync(dirname(join(dir, KEY)), { recursive: true });
    writeFileSync(join(dir, KEY), content === 'good' ? GOOD : Buffer.from('PGDMP a damaged dump'));
  }
  const local = new LocalStorage(dir);
  return { name, put: (k, b) => local.put(k, b), get: (k) => local.get(k), delete: (k) => local.delete(k), exists: (k) => local.exists(k) };
}

const backup = { id: 'b1', location: KEY, sha256: createHash('sha256').update(GOOD).digest('hex'), targets: ['local', 's3'] } as BackupRow;

describe('fetchVerified over several targets', () => {
  it('passes over a damaged first copy, names it, and serves the second', async () => {
    const fetched = await fetchVerified([target('local', 'damaged'), target('s3', 'good')], backup, { owner: 'test0000' });
    try {
      expect(readFileSync(fetched.path)).toEqual(GOOD);
      expect(fetched.source).toBe('s3');
      expect(fetched.passedOver).toEqual([expect.stringMatching(/^local: backup b1 on local is damaged: SHA-256 /)]);
    } finally {
      await fetched.cleanup();
    }
  });

  it('a missing first copy is passed over too; a good first copy passes nothing over', async () => {
    const second = await fetchVerified([target('local', 'missing'), target('s3', 'good')], backup, { owner: 'test0000' });
    expect(second.passedOver).toEqual([`local: no backup file ${KEY}`]);
    await second.cleanup();
    const first = await fetchVerified([target('local', 'good'), target('s3', 'damaged')], backup, { owner: 'test0000' });
    expect(first).toMatchObject({ source: 'local', passedOver: [] });
    await first.cleanup();
  });

  it('when no copy serves, every reason is given; a damaged copy makes it "damaged", all missing "not found"', async () => {
    const damaged = fetchVerified([target('local', 'missing'), target('s3', 'damaged')], backup, { owner: 'test0000' });
    await expect(damaged).rejects.toThrow(DamagedBackupError);
    await expect(damaged).rejects.toThrow(/^no copy of backup b1 is usable: local: no backup file .*; s3: backup b1 on s3 is damaged: /);
    const missing = fetchVerified([target('local', 'missing'), target('s3', 'missing')], backup, { owner: 'test0000' });
    await expect(missing).rejects.toThrow(BackupNotFoundError);
    await expect(missing).rejects.toThrow(/^no copy of backup b1 is usable: local: no backup file .*; s3: no backup file /);
  });
});
