/** Dispatches: assigning an order to a vehicle and driver, watching it, cancelling it. */
import { STAFF } from '../../domain/roles.js';
import { dispatchHistory, getDispatch, listDispatches, toDispatch } from '../../db/dispatches.js';
import { NotFoundError } from '../../lib/errors/index.js';
import { assignDispatch, changeDispatchStatus } from '../../use-cases/dispatches.js';
import { transaction } from '../../use-cases/transaction.js';
import type { AppDeps } from '../deps.js';
import { readableDispatchById } from '../dispatch-access.js';
import { idempotentTransaction } from '../idempotency.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { Dispatch, DispatchCancel, DispatchCreate, DispatchListQuery, DispatchPage, DispatchWithHistory } from '../schemas/dispatches.js';

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
        idempotentTransaction(deps, req, { userId: principal.userId }, body, async (tx) => {
          const dispatch = await assignDispatch(tx, deps, {
            orderId: body.order_id,
            vehicleId: body.vehicle_id,
            driverId: body.driver_id,
            notes: body.notes,
            by: principal.userId,
          });
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
      description:
        "A shipper's API key reads the dispatches of its own client's orders (any other is a 404), without the carrier's internal fields: notes, assigned_by, and each history entry's changed_by and note are null.",
      tags: ['dispatches'],
      auth: STAFF,
      shipperKey: true,
      params: IdParams,
      responses: {
        200: { description: 'The dispatch', schema: DispatchWithHistory },
        404: { description: 'No such dispatch', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, principal, shipper }) => {
        const row = shipper ? await readableDispatchById(db, { principal, shipper }, params.id) : await getDispatch(db, params.id);
        if (!row) throw new NotFoundError('dispatch');
        const history = await dispatchHistory(db, row.id);
        if (!shipper) return reply(200, { ...toDispatch(row), history });
        // A shipper sees what happened and when, not the carrier's notes or who among its staff did it.
        return reply(200, {
          ...toDispatch(row),
          notes: null,
          assigned_by: null,
          history: history.map((h) => ({ ...h, changed_by: null, note: null })),
        });
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
          const { dispatch } = await changeDispatchStatus(tx, deps, {
            dispatchId: params.id,
            to: 'CANCELLED',
            actor: { kind: 'staff', userId: principal.userId },
            note: body?.reason,
            same: 'conflict',
          });
          return reply(200, toDispatch(dispatch));
        }),
    }),
  ];
}
