/**
 * Orders: dispatchers and admins create, search, change and cancel them. A shipper's API key
 * (issue 16) creates, lists and reads its own client's orders; another client's are a 404.
 */
import { STAFF } from '../../domain/roles.js';
import { getOrder, listOrders, orderStatusCounts, toOrder } from '../../db/orders.js';
import { cacheNames } from '../../lib/cache.js';
import { NotFoundError, ValidationError } from '../../lib/errors/index.js';
import { cancelOrder } from '../../use-cases/dispatches.js';
import { changeOrder, createOrder } from '../../use-cases/orders.js';
import { transaction } from '../../use-cases/transaction.js';
import type { AppDeps } from '../deps.js';
import { idempotentTransaction } from '../idempotency.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { Order, OrderCancel, OrderCreate, OrderListQuery, OrderPage, OrderPatch, OrderStatusCounts } from '../schemas/orders.js';

const errors = {
  400: { description: 'Invalid input', schema: ErrorResponse },
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'Not a dispatcher or admin', schema: ErrorResponse },
};

export function orderRoutes(deps: AppDeps): RouteSpec[] {
  const { db, cache, config } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/orders',
      summary: 'Create an order (status PENDING)',
      tags: ['orders'],
      auth: STAFF,
      shipperKey: true,
      body: OrderCreate,
      idempotencyKey: true,
      responses: {
        201: { description: 'Created', schema: Order },
        ...errors,
        422: { description: 'Idempotency-Key reused for a different request, or unknown client', schema: ErrorResponse },
      },
      handler: async ({ body, req, principal, shipper }) => {
        const clientId = shipper ? shipper.clientId : body.client_id;
        if (clientId === undefined) throw new ValidationError('invalid request', [{ field: 'body.client_id', message: 'Required' }]);
        // A shipper names no other client: another client's id is refused like an unknown one.
        if (shipper && body.client_id !== undefined && body.client_id !== shipper.clientId) {
          throw new ValidationError('unknown client', [{ field: 'body.client_id', message: `no client ${body.client_id}` }]);
        }
        const owner = shipper ? { apiKeyId: shipper.keyId } : { userId: principal.userId };
        return idempotentTransaction(deps, req, owner, body, async (tx) => {
          const { weight, ...rest } = body;
          return reply(
            201,
            toOrder(await createOrder(tx, deps, { ...rest, client_id: clientId, weight_kg: weight }, shipper ? null : principal.userId), config.publicUrl),
          );
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/orders',
      summary: 'List orders: filter by status, client, cargo, created range; search addresses with q; cursor pages',
      description: "A shipper's API key sees its own client's orders only (a client_id filter naming another client finds none).",
      tags: ['orders'],
      auth: STAFF,
      shipperKey: true,
      query: OrderListQuery,
      responses: { 200: { description: 'A page of orders', schema: OrderPage }, ...errors },
      handler: async ({ query, shipper }) => {
        if (shipper && query.client_id !== undefined && query.client_id !== shipper.clientId) return reply(200, { items: [], next_cursor: null });
        return reply(
          200,
          await listOrders(db, {
            status: query.status,
            clientId: shipper ? shipper.clientId : query.client_id,
            cargoType: query.cargo_type,
            createdFrom: query.created_from ? new Date(query.created_from) : undefined,
            createdTo: query.created_to ? new Date(query.created_to) : undefined,
            q: query.q,
            sort: query.sort,
            limit: query.limit,
            cursor: query.cursor,
            publicUrl: config.publicUrl,
          }),
        );
      },
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
      shipperKey: true,
      params: IdParams,
      responses: { 200: { description: 'The order', schema: Order }, 404: { description: 'No such order', schema: ErrorResponse }, ...errors },
      handler: async ({ params, shipper }) => {
        const row = await getOrder(db, params.id);
        if (!row || (shipper && row.client_id !== shipper.clientId)) throw new NotFoundError('order');
        return reply(200, toOrder(row, config.publicUrl));
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
          const { weight, ...rest } = body;
          return reply(
            200,
            toOrder(await changeOrder(tx, deps, params.id, { ...rest, ...(weight !== undefined ? { weight_kg: weight } : {}) }), config.publicUrl),
          );
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
        transaction(deps, async (tx) => reply(200, toOrder(await cancelOrder(tx, deps, params.id, principal.userId, body?.reason ?? null), config.publicUrl))),
    }),
  ];
}
