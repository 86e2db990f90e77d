/** Dispatches: assigning an order to a vehicle and driver, watching it, cancelling it. */
import { assignmentRefusals } from '../../domain/assignment.js';
import { checkTransition, orderStatusFor } from '../../domain/dispatch-status.js';
import { STAFF } from '../../domain/roles.js';
import { activeDispatchId, dispatchHistory, getDispatch, lockDispatch, lockVehicleAndDriver, insertDispatch, listDispatches, setDispatchStatus, toDispatch } from '../../db/dispatches.js';
import { getOrder, updateOrder } from '../../db/orders.js';
import { ConflictError, NotFoundError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import { idempotentTransaction } from '../idempotency.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { Dispatch, DispatchCancel, DispatchCreate, DispatchListQuery, DispatchPage, DispatchWithHistory } from '../schemas/dispatches.js';
import { transaction } from '../transaction.js';
import { announceDispatchChange } from './dispatch-events.js';
import { announceOrderChange } from './orders.js';

const errors = {
  400: { description: 'Invalid input', schema: ErrorResponse },
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'Not a dispatcher or admin', schema: ErrorResponse },
};

export function dispatchRoutes(deps: AppDeps): RouteSpec[] {
  const { db } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/dispatches',
      summary: 'Assign an order to a vehicle and a driver',
      description:
        'Refused with 409 and every reason (details[].code) when the order is not PENDING, the vehicle or driver is inactive or busy, ' +
        "the order is heavier than the vehicle's capacity, or the vehicle cannot hold the cargo class.",
      tags: ['dispatches'],
      auth: STAFF,
      body: DispatchCreate,
      idempotencyKey: true,
      responses: {
        201: { description: 'Assigned', schema: Dispatch },
        404: { description: 'Unknown order, vehicle or driver', schema: ErrorResponse },
        409: { description: 'Assignment refused; details lists the reasons', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ body, req, principal }) =>
        idempotentTransaction(deps, req, principal, body, async (tx) => {
          const { trx } = tx;
          // Lock order, vehicle and driver, in that order: concurrent assignments of any of them
          // queue up here. Vehicle and driver FOR NO KEY UPDATE, so GPS batches never deadlock
          // with this (db/dispatches.ts).
          const order = await getOrder(trx, body.order_id, { forUpdate: true });
          if (!order) throw new NotFoundError(`order ${body.order_id}`);
          const { vehicle, driver } = await lockVehicleAndDriver(trx, body.vehicle_id, body.driver_id);
          if (!vehicle) throw new NotFoundError(`vehicle ${body.vehicle_id}`);
          if (!driver) throw new NotFoundError(`driver ${body.driver_id}`);
          const refusals = assignmentRefusals({
            order: { id: order.id, status: order.status, cargoType: order.cargo_type, weightKg: order.weight_kg },
            vehicle: { id: vehicle.id, active: vehicle.active, capacityKg: vehicle.capacity_kg, cargoClasses: vehicle.cargo_classes },
            driver: { id: driver.id, active: driver.active },
            vehicleBusyWith: await activeDispatchId(trx, 'vehicle_id', vehicle.id),
            driverBusyWith: await activeDispatchId(trx, 'driver_id', driver.id),
          });
          if (refusals.length > 0) throw new ConflictError(`assignment refused: ${refusals[0]!.message}`, 'dispatch_refused', refusals);
          const dispatch = await insertDispatch(trx, {
            order_id: order.id,
            vehicle_id: vehicle.id,
            driver_id: driver.id,
            status: 'ASSIGNED',
            assigned_by: principal.userId,
            notes: body.notes ?? null,
          });
          await updateOrder(trx, order.id, { status: orderStatusFor('ASSIGNED') });
          await announceDispatchChange(tx, deps, dispatch, null, principal.userId);
          await announceOrderChange(tx, deps, order.id, 'status');
          return reply(201, toDispatch(dispatch));
        }),
    }),
    defineRoute({
      method: 'get',
      path: '/dispatches',
      summary: 'List dispatches, newest first: filter by status, driver, vehicle, order',
      tags: ['dispatches'],
      auth: STAFF,
      query: DispatchListQuery,
      responses: { 200: { description: 'A page of dispatches', schema: DispatchPage }, ...errors },
      handler: async ({ query }) =>
        reply(
          200,
          await listDispatches(db, {
            status: query.status,
            driverId: query.driver_id,
            vehicleId: query.vehicle_id,
            orderId: query.order_id,
            limit: query.limit,
            cursor: query.cursor,
          }),
        ),
    }),
    defineRoute({
      method: 'get',
      path: '/dispatches/:id',
      summary: 'One dispatch with its status history',
      tags: ['dispatches'],
      auth: STAFF,
      params: IdParams,
      responses: {
        200: { description: 'The dispatch', schema: DispatchWithHistory },
        404: { description: 'No such dispatch', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params }) => {
        const row = await getDispatch(db, params.id);
        if (!row) throw new NotFoundError('dispatch');
        return reply(200, { ...toDispatch(row), history: await dispatchHistory(db, row.id) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/dispatches/:id/cancel',
      summary: 'Cancel an active dispatch; its order returns to PENDING',
      tags: ['dispatches'],
      auth: STAFF,
      params: IdParams,
      body: DispatchCancel,
      responses: {
        200: { description: 'The cancelled dispatch', schema: Dispatch },
        404: { description: 'No such dispatch', schema: ErrorResponse },
        409: { description: 'The dispatch is already finished or delivered', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, body, principal }) =>
        transaction(deps, async (tx) => {
          const current = await lockDispatch(tx.trx, params.id);
          if (!current) throw new NotFoundError('dispatch');
          const check = checkTransition(current.status, 'CANCELLED');
          if (check.kind !== 'change') {
            const reason = check.kind === 'refused' ? check.reason : `dispatch ${params.id} is already CANCELLED`;
            throw new ConflictError(reason, 'invalid_transition', { from: current.status, to: 'CANCELLED' });
          }
          const row = await setDispatchStatus(tx.trx, params.id, 'CANCELLED', true);
          await updateOrder(tx.trx, row.order_id, { status: orderStatusFor('CANCELLED') });
          await announceDispatchChange(tx, deps, row, current.status, principal.userId, body?.reason);
          await announceOrderChange(tx, deps, row.order_id, 'status');
          return reply(200, toDispatch(row));
        }),
    }),
  ];
}
