/** Who may read a dispatch's telemetry, excursions, temperature record and status. */
import { getDispatch, type DispatchRow } from '../db/dispatches.js';
import type { Db } from '../db/knex.js';
import { getOrder } from '../db/orders.js';
import type { Principal } from '../db/sessions.js';
import { STAFF } from '../domain/roles.js';
import { NotFoundError } from '../lib/errors/index.js';
import type { ShipperKey } from './route.js';

/** Who asks: a signed-in user, or (on routes with `shipperKey`) a shipper's API key. */
export interface Caller {
  principal: Principal;
  shipper?: ShipperKey | undefined;
}

/**
 * The dispatch, if the caller may read it: staff any, a driver only their own, a shipper's key
 * only its client's (the dispatch must carry its order's client_id for that). Any other
 * dispatch answers 404 exactly like a missing one (no probing for ids).
 */
export function readableDispatch<D extends { driver_id: number; client_id?: number }>(caller: Caller, dispatch: D | undefined): D {
  const { principal, shipper } = caller;
  const allowed =
    dispatch &&
    (shipper
      ? dispatch.client_id !== undefined && dispatch.client_id === shipper.clientId
      : STAFF.includes(principal.role) || (principal.driverId !== null && dispatch.driver_id === principal.driverId));
  if (!allowed) throw new NotFoundError('dispatch');
  return dispatch;
}

/** readableDispatch by id: the dispatch row, and for a shipper's key its order's client (read only then). */
export async function readableDispatchById(db: Db, caller: Caller, id: number): Promise<DispatchRow> {
  const dispatch = await getDispatch(db, id);
  const clientId = caller.shipper && dispatch ? (await getOrder(db, dispatch.order_id))?.client_id : undefined;
  return readableDispatch(caller, dispatch && { ...dispatch, client_id: clientId });
}
