/** Who may read a dispatch's telemetry, excursions and temperature record. */
import type { Principal } from '../db/sessions.js';
import { STAFF } from '../domain/roles.js';
import { NotFoundError } from '../lib/errors/index.js';

/**
 * The dispatch, if the caller may read it: staff any, a driver only their own. Another
 * driver's dispatch answers 404 exactly like a missing one (no probing for ids).
 */
export function readableDispatch<D extends { driver_id: number }>(principal: Principal, dispatch: D | undefined): D {
  const allowed = dispatch && (STAFF.includes(principal.role) || (principal.driverId !== null && dispatch.driver_id === principal.driverId));
  if (!allowed) throw new NotFoundError('dispatch');
  return dispatch;
}
