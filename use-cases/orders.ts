/** Order writes: create, and change while PENDING (cancelling, which involves its dispatch, is in dispatches.ts). The rules are in domain/orders.ts. */
import { orderChangeRefusal } from '../domain/orders.js';
import { customLimitsProblem } from '../domain/temperature-profiles.js';
import { getOrder, insertOrder, updateOrder, type OrderRow } from '../db/orders.js';
import { findRecord } from '../db/records.js';
import type { ProofKind } from '../domain/proofs.js';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors/index.js';
import { announceOrderChange, announceOrderCreated } from './announce.js';
import type { UseCaseDeps } from './deps.js';
import type { Tx } from './transaction.js';

type Deps = Pick<UseCaseDeps, 'cache'>;

/** An order's own fields, named as stored. */
export type OrderFields = Partial<
  Omit<OrderRow, 'id' | 'status' | 'created_by' | 'created_at' | 'updated_at' | 'distance_km' | 'pickup_estimated' | 'delivery_estimated'>
>;

/** An order's own limits must not cross (the domain rule: 0 °C is a limit, never "unset"). */
function checkTempLimits(min: number | null | undefined, max: number | null | undefined): void {
  const problem = customLimitsProblem(min, max);
  if (problem) throw new ValidationError('temperature limits cross', [{ field: 'body.temp_min_c', message: `${problem} (${max})` }]);
}

/** Creates a PENDING order for an active client; an unknown client is a 422, an inactive one a 409. */
/** Creates a PENDING order; `by` is the user who asked (null for a shipper's API key). */
export async function createOrder(tx: Tx, deps: Deps, fields: OrderFields & { client_id: number }, by: number | null): Promise<OrderRow> {
  const client = await findRecord(tx.trx, 'clients', fields.client_id);
  if (!client) throw new ValidationError('unknown client', [{ field: 'body.client_id', message: `no client ${fields.client_id}` }]);
  if (!client.active) throw new ConflictError(`client ${fields.client_id} is inactive`, 'client_inactive');
  checkTempLimits(fields.temp_min_c, fields.temp_max_c);
  // An order that says nothing about proof takes its client's default, copied: changing the default later changes no order.
  const proof_required = fields.proof_required ?? (client.default_proof_required as ProofKind[] | undefined) ?? [];
  const row = await insertOrder(tx.trx, { ...fields, proof_required, status: 'PENDING', created_by: by });
  await announceOrderChange(tx, deps, row.id, 'created');
  await announceOrderCreated(tx, row);
  return row;
}

/** Changes a PENDING order. New addresses without coordinates drop the old ones, so the orders worker locates them again. */
export async function changeOrder(tx: Tx, deps: Deps, id: number, fields: OrderFields): Promise<OrderRow> {
  const current = await getOrder(tx.trx, id, { forUpdate: true });
  if (!current) throw new NotFoundError('order');
  const refusal = orderChangeRefusal(id, current.status);
  if (refusal) throw new ConflictError(refusal.message, refusal.code);
  checkTempLimits(
    fields.temp_min_c !== undefined ? fields.temp_min_c : current.temp_min_c,
    fields.temp_max_c !== undefined ? fields.temp_max_c : current.temp_max_c,
  );
  const patch: OrderFields & Partial<Pick<OrderRow, 'pickup_estimated' | 'delivery_estimated'>> = { ...fields };
  if (fields.pickup_address && fields.pickup_lat === undefined) Object.assign(patch, { pickup_lat: null, pickup_lng: null });
  if (fields.delivery_address && fields.delivery_lat === undefined) Object.assign(patch, { delivery_lat: null, delivery_lng: null });
  // Coordinates the client gives are the real place: they get a geofence (domain/geofences.ts).
  if (fields.pickup_lat !== undefined) patch.pickup_estimated = false;
  if (fields.delivery_lat !== undefined) patch.delivery_estimated = false;
  const row = await updateOrder(tx.trx, id, patch);
  await announceOrderChange(tx, deps, row.id, 'updated');
  return row;
}
