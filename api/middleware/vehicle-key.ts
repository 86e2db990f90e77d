/**
 * API-key authentication for a vehicle gateway (routes whose auth is 'vehicle-key'):
 * `X-Api-Key: uvk_...`, looked up by its sha256 (only the hash is stored). An
 * unknown, malformed or revoked key is a 401; the key decides the vehicle, so a
 * gateway can only ever post for its own. Sets res.locals.vehicleKey.
 */
import type { RequestHandler } from 'express';
import { API_KEY_TOUCH_INTERVAL_MS, findActiveApiKey, touchApiKey } from '../../db/api-keys.js';
import { API_KEY_SHAPE, hashApiKey } from '../../lib/api-key-secrets.js';
import { UnauthorizedError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import type { VehicleKey } from '../route.js';

export function authenticateVehicleKey({ db }: Pick<AppDeps, 'db'>): RequestHandler {
  return async (req, res, next) => {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') return next(new UnauthorizedError('authentication required: send X-Api-Key: <key>', 'api_key_required'));
    const row = API_KEY_SHAPE.test(key) ? await findActiveApiKey(db, hashApiKey(key)) : undefined;
    if (!row || row.role !== 'telematics' || row.vehicle_id === null) {
      return next(new UnauthorizedError('unknown or revoked API key', 'invalid_api_key'));
    }
    res.locals.vehicleKey = { keyId: row.id, vehicleId: row.vehicle_id } satisfies VehicleKey;
    // Bookkeeping only, at most once a minute (the row says when it was last recorded; the
    // update's own guard covers replicas racing): a failure to record use must not refuse the post.
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() >= API_KEY_TOUCH_INTERVAL_MS) {
      touchApiKey(db, row.id).catch((err: unknown) => req.log.warn({ err }, 'could not record API key use'));
    }
    next();
  };
}
