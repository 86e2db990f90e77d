/**
 * Proves the newest backup restores: into a scratch database, whose row counts must
 * equal the counts recorded in the dump's own snapshot. The result goes into the
 * manifest and the scratch database is always dropped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, databaseUrl, dropDatabase, withAdminConnection } from '../db/ensure-database.js';
import { ownerTag, scratchDatabaseName } from './leftovers.js';
import { newestSucceededBackup, type BackupRow } from './manifest.js';
import { countRows, pgRestore } from './pg-tools.js';
import { fetchVerified } from './restore.js';
import type { BackupContext } from './run-backup.js';

export interface VerificationResult {
  backupId: string;
  passed: boolean;
  mismatches: string[];
  /** The target whose copy was restored, and the copies passed over on the way (damaged, missing). */
  source?: string;
  passedOver?: string[];
}

export async function verifyBackup(ctx: BackupContext, backup?: BackupRow): Promise<VerificationResult | { skipped: string }> {
  const target = backup ?? (await newestSucceededBackup(ctx.db));
  if (!target) return { skipped: 'no successful backup to verify' };
  // Its creation time in the name: a scratch database a crash left behind is swept once old (leftovers.ts).
  const owner = ownerTag(ctx.databaseUrl);
  const scratch = scratchDatabaseName(owner, randomBytes(4).toString('hex'));
  const scratchUrl = databaseUrl(ctx.databaseUrl, scratch);
  let mismatches: string[] = [];
  let failure: string | undefined;
  const fetched = await fetchVerified(ctx.storages, target, { owner }).catch((err: Error) => {
    failure = err.message;
    return undefined;
  });
  try {
    if (fetched) {
      await withAdminConnection(ctx.databaseUrl, (c) => createDatabase(c, scratch));
      await pgRestore(scratchUrl, fetched.path, ['--no-owner', '--no-privileges', '--exit-on-error'], ctx.config.pgBinDir);
      const client = new pg.Client({ connectionString: scratchUrl });
      await client.connect();
      const restored = await countRows(client).finally(() => client.end());
      const expected = target.table_counts ?? {};
      mismatches = Object.keys({ ...expected, ...restored })
        .filter((table) => expected[table] !== restored[table])
        .map((table) => `${table}: manifest ${expected[table] ?? 'none'}, restored ${restored[table] ?? 'none'}`);
    }
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  } finally {
    await fetched?.cleanup();
    await withAdminConnection(ctx.databaseUrl, (c) => dropDatabase(c, scratch)).catch(() => {});
  }
  const passed = !failure && mismatches.length === 0;
  await ctx
    .db('backups')
    .where({ id: target.id })
    .update({
      verified_at: ctx.db.fn.now(),
      verification_status: passed ? 'passed' : 'failed',
      verification_error: passed ? null : (failure ?? mismatches.join('; ')).slice(0, 2000),
    });
  const copies = fetched ? { source: fetched.source, passedOver: fetched.passedOver } : {};
  ctx.log[passed ? 'info' : 'error']({ backupId: target.id, mismatches, failure, ...copies }, passed ? 'backup verified' : 'backup verification failed');
  // The backup restores, but a copy of it does not: said apart, so it is not missed.
  if (fetched?.passedOver.length) ctx.log.warn({ backupId: target.id, ...copies }, `backup copies passed over; verified the copy on ${fetched.source}`);
  return { backupId: target.id, passed, mismatches: failure ? [failure] : mismatches, ...copies };
}
