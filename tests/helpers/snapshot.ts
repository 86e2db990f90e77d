/** A fingerprint of everything a request could change, to prove that a refused one changed nothing. */
import type { Db } from '../../db/knex.js';

const TABLES = ['users', 'sessions', 'clients', 'drivers', 'vehicles', 'orders', 'dispatches', 'outbox', 'idempotency_keys', 'vehicle_locations', 'driver_positions'];

export async function databaseFingerprint(db: Db): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const table of TABLES) {
    // md5 of the whole table's rows, ordered: any insert, update or delete changes it.
    const row = await db.raw(`select count(*)::int as n, coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as h from ?? t`, [table]);
    result[table] = `${row.rows[0].n}:${row.rows[0].h}`;
  }
  return result;
}
