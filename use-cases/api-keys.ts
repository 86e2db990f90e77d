/** API keys: create (the secret returned once, only its hash stored) and revoke. Admins only (api/routes/api-keys.ts). */
import { insertApiKey, revokeApiKey as revokeApiKeyRow, type ApiKeyRow } from '../db/api-keys.js';
import { findRecord } from '../db/records.js';
import { newApiKeySecret } from '../lib/api-key-secrets.js';
import { NotFoundError, ValidationError } from '../lib/errors/index.js';
import type { Tx } from './transaction.js';

/** Creates a telematics key bound to one vehicle; an unknown vehicle is a 400 naming body.vehicle_id. */
export async function createApiKey(tx: Tx, fields: { name: string; vehicleId: number }, by: number): Promise<{ row: ApiKeyRow; secret: string }> {
  if (!(await findRecord(tx.trx, 'vehicles', fields.vehicleId))) {
    throw new ValidationError('unknown vehicle', [{ field: 'body.vehicle_id', message: `no vehicle ${fields.vehicleId}` }]);
  }
  const { secret, hash, prefix } = newApiKeySecret();
  const row = await insertApiKey(tx.trx, {
    name: fields.name,
    role: 'telematics',
    vehicle_id: fields.vehicleId,
    client_id: null,
    key_hash: hash,
    prefix,
    created_by: by,
  });
  return { row, secret };
}

/** Revokes a key at once (the next request with it is a 401); revoking again changes nothing. */
export async function revokeApiKey(tx: Tx, id: number): Promise<ApiKeyRow> {
  const row = await revokeApiKeyRow(tx.trx, id);
  if (!row) throw new NotFoundError('api key');
  return row;
}
