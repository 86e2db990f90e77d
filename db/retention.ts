/** Retention of the append-only tables (GPS points, temperature readings). */
import type { Db } from './knex.js';

/**
 * Deletes rows recorded before the cutoff in small batches (the BRIN index on
 * recorded_at finds them), so retention never holds long locks. Returns how many went.
 */
export async function deleteRecordedBefore(db: Db, table: 'vehicle_locations' | 'temperature_readings', cutoff: Date, batchSize = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db.raw(`delete from ?? where id in (select id from ?? where recorded_at < ? limit ?)`, [table, table, cutoff, batchSize]);
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < batchSize) return total;
  }
}
