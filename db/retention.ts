/** Retention of the tables that grow without bound: batched deletes (the webhook log; the catch-all partitions of GPS points and temperature readings). */
import type { Db } from './knex.js';

/**
 * Runs one batched delete until a batch deletes fewer rows than asked, so retention never holds
 * long locks. `deleteBatch(limit)` deletes at most `limit` rows and says how many went.
 */
export async function deleteInBatches(batchSize: number, deleteBatch: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch(batchSize);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/**
 * Deletes rows recorded before the cutoff in batches (the BRIN index on recorded_at finds them). Returns how many went.
 * Used on the default and legacy partitions of the telemetry tables (db/partitions.ts), where `id` is unique, and by
 * `npm run bench:retention` for the figures of an unpartitioned table.
 */
export function deleteRecordedBefore(db: Db, table: string, cutoff: Date, batchSize = 10_000): Promise<number> {
  return deleteInBatches(
    batchSize,
    async (limit) =>
      (await db.raw(`delete from ?? where id in (select id from ?? where recorded_at < ? limit ?)`, [table, table, cutoff, limit])).rowCount ?? 0,
  );
}
