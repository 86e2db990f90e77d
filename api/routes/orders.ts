/** Orders: dispatchers and admins create, search, change and cancel them. */
import { ACTIVE_DISPATCH_STATUSES } from '../../domain/dispatch-status.js';
import { STAFF } from '../../domain/roles.js';
import { getOrder, insertOrder, listOrders, orderStatusCounts, toOrder, updateOrder, type OrderRow } from '../../db/orders.js';
import { setDispatchStatus } from '../../db/dispatches.js';
import { writeOutbox } from '../../db/outbox.js';
import { findRecord } from '../../db/records.js';
import { cacheNames } from '../../lib/cache.js';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import { idempotentTransaction } from '../idempotency.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { Order, OrderCancel, OrderCreate, OrderListQuery, OrderPage, OrderPatch, OrderStatusCounts } from '../schemas/orders.js';
import { transaction, type Tx } from '../transaction.js';
import { announceDispatchChange } from './dispatch-events.js';

const errors = {
  400: { description: 'Invalid input', schema: ErrorResponse },
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'Not a dispatcher or admin', schema: ErrorResponse },
};

export function announceOrderChange(tx: Tx, deps: AppDeps, orderId: number, change: 'created' | 'updated' | 'cancelled' | 'status') {
  tx.afterCommit(() => deps.cache.invalidate(cacheNames.orderStatusCounts()));
  return writeOutbox(tx.trx, 'orders', 'order.changed', { orderId, change });
}

export function orderRoutes(deps: AppDeps): RouteSpec[] {
  const { db, cache } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/orders',
      summary: 'Create an order (status PENDING)',
      tags: ['orders'],
      auth: STAFF,
      body: OrderCreate,
      idempotencyKey: true,
      responses: {
        201: { description: 'Created', schema: Order },
        ...errors,
        422: { description: 'Idempotency-Key reused for a different request, or unknown client', schema: ErrorResponse },
      },
      handler: async ({ body, req, principal }) =>
        idempotentTransaction(deps, req, principal, body, async (tx) => {
          const client = await findRecord(tx.trx, 'clients', body.client_id);
          if (!client) throw new ValidationError('unknown client', [{ field: 'body.client_id', message: `no client ${body.client_id}` }]);
          if (!client.active) throw new ConflictError(`client ${body.client_id} is inactive`, 'client_inactive');
          const { weight, ...rest } = body;
          const row = await insertOrder(tx.trx, { ...rest, weight_kg: weight, status: 'PENDING', created_by: principal.userId });
          await announceOrderChange(tx, deps, row.id, 'created');
          return reply(201, toOrder(row));
        }),
    }),
    defineRoute({
      method: 'get',
      path: '/orders',
      summary: 'List orders: filter by status, client, cargo, created range; search addresses with q; cursor pages',
      tags: ['orders'],
      auth: STAFF,
      query: OrderListQuery,
      responses: { 200: { description: 'A page of orders', schema: OrderPage }, ...errors },
      handler: async ({ query }) =>
        reply(
          200,
          await listOrders(db, {
            status: query.status,
            clientId: query.client_id,
            cargoType: query.cargo_type,
            createdFrom: query.created_from ? new Date(query.created_from) : undefined,
            createdTo: query.created_to ? new Date(query.created_to) : undefined,
            q: query.q,
            sort: query.sort,
            limit: query.limit,
            cursor: query.cursor,
          }),
        ),
    }),
    defineRoute({
      method: 'get',
      path: '/orders/stats',
      summary: 'Number of orders per status (cached, always fresh after a change)',
      tags: ['orders'],
      auth: STAFF,
      responses: { 200: { description: 'Counts by status', schema: OrderStatusCounts }, ...errors },
      handler: async () => reply(200, await cache.getOrLoad(cacheNames.orderStatusCounts(), 60, () => orderStatusCounts(db))),
    }),
    defineRoute({
      method: 'get',
      path: '/orders/:id',
      summary: 'One order',
      tags: ['orders'],
      auth: STAFF,
      params: IdParams,
      responses: { 200: { description: 'The order', schema: Order }, 404: { description: 'No such order', schema: ErrorResponse }, ...errors },
      handler: async ({ params }) => {
        const row = await getOrder(db, params.id);
        if (!row) throw new NotFoundError('order');
        return reply(200, toOrder(row));
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/orders/:id',
      summary: 'Change a PENDING order (addresses, cargo, weight, notes); status changes go through dispatches',
      tags: ['orders'],
      auth: STAFF,
      params: IdParams,
      body: OrderPatch,
      responses: {
        200: { description: 'The changed order', schema: Order },
        404: { description: 'No such order', schema: ErrorResponse },
        409: { description: 'The order is no longer PENDING', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, body }) =>
        transaction(deps, async (tx) => {
          const current = await getOrder(tx.trx, params.id, { forUpdate: true });
          if (!current) throw new NotFoundError('order');
          if (current.status !== 'PENDING') {
            throw new ConflictError(`order ${params.id} is ${current.status}; only PENDING orders can be changed`, 'order_not_pending');
          }
          const { weight, ...rest } = body;
          const patch: Partial<OrderRow> = { ...rest, ...(weight !== undefined ? { weight_kg: weight } : {}) };
          // New addresses without coordinates: let the worker locate them again.
          if (body.pickup_address && body.pickup_lat === undefined) Object.assign(patch, { pickup_lat: null, pickup_lng: null });
          if (body.delivery_address && body.delivery_lat === undefined) Object.assign(patch, { delivery_lat: null, delivery_lng: null });
          const row = await updateOrder(tx.trx, params.id, patch);
          await announceOrderChange(tx, deps, row.id, 'updated');
          return reply(200, toOrder(row));
        }),
    }),
    defineRoute({
      method: 'post',
      path: '/orders/:id/cancel',
      summary: 'Cancel an order that is PENDING or ASSIGNED (its dispatch is cancelled too)',
      tags: ['orders'],
      auth: STAFF,
      params: IdParams,
      body: OrderCancel,
      responses: {
        200: { description: 'The cancelled order', schema: Order },
        404: { description: 'No such order', schema: ErrorResponse },
        409: { description: 'The order is already on the road, done or cancelled', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, body, principal }) =>
        transaction(deps, async (tx) => {
          const current = await getOrder(tx.trx, params.id, { forUpdate: true });
          if (!current) throw new NotFoundError('order');
          if (current.status !== 'PENDING' && current.status !== 'ASSIGNED') {
            throw new ConflictError(`order ${params.id} is ${current.status} and can no longer be cancelled`, 'order_not_cancellable');
          }
          // FOR NO KEY UPDATE, as lockDispatch (db/dispatches.ts): the history insert's FK check need not wait.
          const active = await tx.trx('dispatches').where('order_id', params.id).whereIn('status', ACTIVE_DISPATCH_STATUSES).forNoKeyUpdate().first();
          if (active) {
            const cancelled = await setDispatchStatus(tx.trx, active.id, 'CANCELLED', true);
            await announceDispatchChange(tx, deps, cancelled, active.status, principal.userId, body?.reason ?? 'order cancelled');
          }
          const row = await updateOrder(tx.trx, params.id, { status: 'CANCELLED' });
          await announceOrderChange(tx, deps, row.id, 'cancelled');
          return reply(200, toOrder(row));
        }),
    }),
  ];
}
