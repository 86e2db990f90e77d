/** API keys (vehicle gateways, shippers): create (the secret returned once, only its hash stored) and revoke. Admins only (api/routes/api-keys.ts). */
import { insertApiKey, revokeApiKey as revokeApiKeyRow, type ApiKeyRole, type ApiKeyRow } from '../db/api-keys.js';
import { findRecord } from '../db/records.js';
import { newApiKeySecret } from '../lib/api-key-secrets.js';
import { NotFoundError, ValidationError } from '../lib/errors/index.js';
import type { Tx } from './transaction.js';

/**
 * Creates a key bound to one vehicle (telematics) or one client (shipper); an unknown vehicle or
 * client is a 400 naming the field. The request's schema guarantees the binding fits the role.
 */
export async function createApiKey(
  tx: Tx,
  fields: { name: string; role: ApiKeyRole; vehicleId?: number; clientId?: number },
  by: number,
): Promise<{ row: ApiKeyRow; secret: string }> {
  const [table, field, id] =
    fields.role === 'shipper' ? (['clients', 'client_id', fields.clientId] as const) : (['vehicles', 'vehicle_id', fields.vehicleId] as const);
  if (id === undefined || !(await findRecord(tx.trx, table, id))) {
    throw new ValidationError(`unknown ${table === 'clients' ? 'client' : 'vehicle'}`, [{ field: `body.${field}`, message: `no ${table.slice(0, -1)} ${id}` }]);
  }
  const { secret, hash, prefix } = newApiKeySecret();
  const row = await insertApiKey(tx.trx, {
    name: fields.name,
    role: fields.role,
    vehicle_id: fields.role === 'telematics' ? id : null,
    client_id: fields.role === 'shipper' ? id : null,
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
