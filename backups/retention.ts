/**
 * Removes backups older than the retention period from every target, and marks them
 * expired in the manifest. Some always stay, however old, so that failing backups
 * never lead retention to delete the last good copies: the newest few restorable
 * backups (failed verification does not count), the newest one that passed
 * verification, and the newest restorable one with the uploaded files (weekly).
 */
import type { BackupContext } from './run-backup.js';
import { restorable, type BackupRow } from './manifest.js';

export const ALWAYS_KEEP_SUCCEEDED = 3;

export async function applyRetention(ctx: BackupContext, now = new Date()): Promise<{ expired: string[] }> {
  const cutoff = new Date(now.getTime() - ctx.config.retentionDays * 86_400_000);
  // Running backups are left alone whatever their age; their job, or the leftovers sweep
  // once the job is no longer active (leftovers.ts), decides their fate.
  const newest = (query: ReturnType<typeof restorable>, n: number) => query.orderBy('started_at', 'desc').limit(n).pluck('id');
  const kept = new Set<string>([
    ...(await newest(restorable(ctx.db), ALWAYS_KEEP_SUCCEEDED)),
    ...(await newest(restorable(ctx.db).where({ verification_status: 'passed' }), 1)),
    ...(await newest(restorable(ctx.db).whereNotNull('files_location'), 1)),
  ]);
  const old: BackupRow[] = await ctx
    .db('backups')
    .whereIn('status', ['succeeded', 'failed'])
    .where('started_at', '<', cutoff)
    .whereNotIn('id', [...kept]);
  const expired: string[] = [];
  for (const backup of old) {
    const keys = [backup.location, backup.files_location].filter((k): k is string => !!k);
    // Every configured target, not only those listed: a copy may have been left by an earlier configuration.
    for (const storage of ctx.storages) for (const key of keys) await storage.delete(key);
    await ctx.db('backups').where({ id: backup.id }).update({ status: 'expired', expired_at: ctx.db.fn.now() });
    expired.push(backup.id);
  }
  if (expired.length) ctx.log.info({ expired, cutoff }, 'expired backups removed');
  return { expired };
}
