/** API keys for non-user callers (a vehicle's telematics gateway): only the sha256 of the secret is stored. */
import type { Db, Trx } from './knex.js';

export type ApiKeyRole = 'telematics' | 'shipper';

export interface ApiKeyRow {
  id: number;
  name: string;
  role: ApiKeyRole;
  vehicle_id: number | null;
  client_id: number | null;
  key_hash: string;
  prefix: string;
  created_by: number | null;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** The shape clients see: never the hash. */
export function toApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    vehicle_id: row.vehicle_id,
    client_id: row.client_id,
    prefix: row.prefix,
    created_by: row.created_by,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
  };
}

export async function insertApiKey(trx: Trx, data: Omit<ApiKeyRow, 'id' | 'created_at' | 'revoked_at' | 'last_used_at'>): Promise<ApiKeyRow> {
  const [row] = await trx('api_keys').insert(data).returning('*');
  return row;
}

/** Every key, newest first (an admin's list; a carrier has tens of vehicles, not millions). */
export function listApiKeys(db: Db): Promise<ApiKeyRow[]> {
  return db('api_keys').orderBy('id', 'desc').select('*');
}

/** Marks a key revoked; revoking a revoked key keeps its first revocation time. */
export async function revokeApiKey(trx: Trx, id: number): Promise<ApiKeyRow | undefined> {
  const [row] = await trx('api_keys')
    .where({ id })
    .update({ revoked_at: trx.raw('coalesce(revoked_at, now())') })
    .returning('*');
  return row;
}

/** The unrevoked key with this hash, if any. */
export function findActiveApiKey(db: Db, keyHash: string): Promise<ApiKeyRow | undefined> {
  return db('api_keys').where({ key_hash: keyHash }).whereNull('revoked_at').first();
}

/** How often a key's last use is recorded at most. */
export const API_KEY_TOUCH_INTERVAL_MS = 60_000;

/** Records use at most once a minute per key, so a gateway posting every few seconds does not write a row each time. */
export async function touchApiKey(db: Db, id: number): Promise<void> {
  await db('api_keys')
    .where({ id })
    .where((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', db.raw('now() - make_interval(secs => ?)', [API_KEY_TOUCH_INTERVAL_MS / 1000])))
    .update({ last_used_at: db.fn.now() });
}
