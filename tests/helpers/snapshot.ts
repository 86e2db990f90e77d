/** A fingerprint of everything a request could change, to prove that a refused one changed nothing. */
import type { Db } from '../../db/knex.js';

// Every table of the schema (migrations/); databaseFingerprint refuses to run when one is missing here.
export const TABLES = [
  'users',
  'sessions',
  'refresh_tokens',
  'clients',
  'drivers',
  'vehicles',
  'orders',
  'dispatches',
  'dispatch_status_history',
  'dispatch_plans',
  'outbox',
  'idempotency_keys',
  'vehicle_locations',
  'driver_positions',
  'backups',
  'temperature_readings',
  'api_keys',
  'temperature_excursions',
  'excursion_actions',
  'excursion_evaluations',
  'geofence_events',
  'webhook_endpoints',
  'webhook_deliveries',
  'webhook_attempts',
  'proofs',
];
/**
 * Columns written in the background by the outbox relay of the process under test
 * (publishing rows its setup wrote): bookkeeping, not a change a request made. Without
 * this a refused request's "nothing changed" would race the relay.
 */
const BACKGROUND_COLUMNS: Record<string, string> = {
  outbox: '(t.id, t.queue, t.job_name, t.payload, t.created_at, t.job_key)',
};
// knex's own bookkeeping: only migrations change it.
const NOT_DATA = ['knex_migrations', 'knex_migrations_lock'];

export async function databaseFingerprint(db: Db): Promise<Record<string, string>> {
  // A table added by a later migration must be listed above, or "nothing changed" would not look at it.
  const { rows: tables } = await db.raw(
    `select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') and not relispartition`,
  );
  const unlisted = (tables as { relname: string }[]).map((t) => t.relname).filter((t) => !TABLES.includes(t) && !NOT_DATA.includes(t));
  if (unlisted.length > 0) throw new Error(`databaseFingerprint: add these tables to TABLES in tests/helpers/snapshot.ts: ${unlisted.join(', ')}`);
  const result: Record<string, string> = {};
  for (const table of TABLES) {
    // md5 of the whole table's rows, ordered: any insert, update or delete changes it.
    const rowText = `${BACKGROUND_COLUMNS[table] ?? 't'}::text`;
    const row = await db.raw(`select count(*)::int as n, coalesce(md5(string_agg(${rowText}, '|' order by ${rowText})), '') as h from ?? t`, [table]);
    result[table] = `${row.rows[0].n}:${row.rows[0].h}`;
  }
  return result;
}
