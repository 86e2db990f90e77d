/**
 * API-key authentication (`X-Api-Key: uvk_...`), looked up by its sha256 (only the hash is
 * stored). A key has one role and is bound to one record:
 * - telematics: a vehicle gateway, on routes whose auth is 'vehicle-key' (sets res.locals.vehicleKey);
 * - shipper: a shipper's integration, bound to one client, on routes that accept shipper keys
 *   (RouteSpec.shipperKey; sets res.locals.shipper). The handler scopes to that client.
 * An unknown, malformed or revoked key is a 401; a valid key of the other role is a 403
 * (it authenticates, but may not do this).
 */
import type { Request, RequestHandler } from 'express';
import { API_KEY_TOUCH_INTERVAL_MS, findActiveApiKey, touchApiKey, type ApiKeyRole, type ApiKeyRow } from '../../db/api-keys.js';
import type { Db } from '../../db/knex.js';
import { API_KEY_SHAPE, hashApiKey } from '../../lib/api-key-secrets.js';
import { ForbiddenError, UnauthorizedError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import type { ShipperKey, VehicleKey } from '../route.js';

/** The X-Api-Key header's active key; throws 401 for a missing, malformed, unknown or revoked one. */
export async function activeApiKey(db: Db, req: Request): Promise<ApiKeyRow> {
  const key = req.headers['x-api-key'];
  if (typeof key !== 'string' || key === '') throw new UnauthorizedError('authentication required: send X-Api-Key: <key>', 'api_key_required');
  const row = API_KEY_SHAPE.test(key) ? await findActiveApiKey(db, hashApiKey(key)) : undefined;
  if (!row) throw new UnauthorizedError('unknown or revoked API key', 'invalid_api_key');
  // Bookkeeping only, at most once a minute (the row says when it was last recorded; the
  // update's own guard covers replicas racing): a failure to record use must not refuse the request.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() >= API_KEY_TOUCH_INTERVAL_MS) {
    touchApiKey(db, row.id).catch((err: unknown) => req.log.warn({ err }, 'could not record API key use'));
  }
  return row;
}

export function refusedKeyRole(role: ApiKeyRole): ForbiddenError {
  return new ForbiddenError(`an API key with role ${role} may not use this route`, 'api_key_not_allowed');
}

function keyOfRole(db: Db, role: ApiKeyRole, locals: (row: ApiKeyRow) => Record<string, unknown>): RequestHandler {
  return async (req, res, next) => {
    try {
      const row = await activeApiKey(db, req);
      if (row.role !== role) return next(refusedKeyRole(row.role));
      Object.assign(res.locals, locals(row));
      next();
    } catch (err) {
      next(err);
    }
  };
}

export function authenticateVehicleKey({ db }: Pick<AppDeps, 'db'>): RequestHandler {
  return keyOfRole(db, 'telematics', (row) => ({ vehicleKey: { keyId: row.id, vehicleId: row.vehicle_id! } satisfies VehicleKey }));
}

export function authenticateShipperKey({ db }: Pick<AppDeps, 'db'>): RequestHandler {
  return keyOfRole(db, 'shipper', (row) => ({ shipper: { keyId: row.id, clientId: row.client_id! } satisfies ShipperKey }));
}
