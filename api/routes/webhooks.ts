/**
 * Webhook endpoints (DESIGN.md "Shippers", docs/webhooks.md): admins manage every client's; a
 * shipper's API key (RouteSpec.shipperKey) the same routes for its own client's endpoints only,
 * with the scope { kind: 'client' } (another client's endpoint or delivery is a 404).
 */
import { z } from 'zod';
import { ValidationError } from '../../lib/errors/index.js';
import { ADMIN } from '../../domain/roles.js';
import { listAttempts, listEndpoints, toEndpoint, type AttemptListRow } from '../../db/webhooks.js';
import { webhookId } from '../../jobs/webhook-delivery.js';
import {
  changeEndpoint,
  createEndpoint,
  deleteEndpoint,
  readEndpoint,
  retryDelivery,
  rotateSecret,
  type WebhookScope,
  type WebhookSettings,
} from '../../use-cases/webhooks.js';
import { transaction } from '../../use-cases/transaction.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec, type ShipperKey } from '../route.js';
import { ErrorResponse, IdParams, pageOf } from '../schemas/common.js';
import { Attempt, AttemptsQuery, Endpoint, EndpointCreate, EndpointPatch, EndpointWithSecret, RetryAccepted } from '../schemas/webhooks.js';

const ADMIN_SCOPE: WebhookScope = { kind: 'all' };
const scopeOf = (shipper: ShipperKey | undefined): WebhookScope => (shipper ? { kind: 'client', clientId: shipper.clientId } : ADMIN_SCOPE);
const NO_STORE = { 'Cache-Control': 'no-store' };

function toAttempt(row: AttemptListRow) {
  const { event_key, ...rest } = row;
  return { ...rest, webhook_id: webhookId(event_key) };
}

export function webhookRoutes(deps: AppDeps): RouteSpec[] {
  const { webhooks } = deps.config;
  const settings: WebhookSettings = {
    policy: { allowPrivate: webhooks.allowPrivate, allowedHosts: webhooks.allowedHosts },
    secretKey: webhooks.secretKey,
  };
  const notFound = { description: 'No such endpoint', schema: ErrorResponse };
  return [
    defineRoute({
      method: 'post',
      path: '/webhooks/endpoints',
      summary: 'Register a webhook endpoint; its signing secret is in this answer only',
      description:
        'Deliveries are signed per Standard Webhooks v1 (docs/webhooks.md). The URL must be http(s); addresses the policy refuses (private, loopback, link-local, metadata) are refused here when literal and at every connection otherwise.',
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      body: EndpointCreate,
      responses: {
        201: { description: 'Created; `secret` is shown once', schema: EndpointWithSecret },
        400: { description: 'Invalid input, refused URL or unknown client', schema: ErrorResponse },
      },
      handler: async ({ body, principal, shipper }) => {
        // A shipper names no other client: another client's id is refused like an unknown one.
        if (shipper && body.client_id !== undefined && body.client_id !== shipper.clientId) {
          throw new ValidationError('unknown client', [{ field: 'body.client_id', message: `no client ${body.client_id}` }]);
        }
        const { row, secret } = await transaction(deps, (tx) =>
          createEndpoint(
            tx,
            settings,
            scopeOf(shipper),
            { url: body.url, events: body.events, description: body.description || null, clientId: body.client_id },
            shipper ? null : principal.userId,
          ),
        );
        return reply(201, { ...toEndpoint(row), secret }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/endpoints',
      summary: 'Every webhook endpoint, newest first, without secrets',
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      responses: { 200: { description: 'Endpoints', schema: z.object({ items: z.array(Endpoint) }) } },
      handler: async ({ shipper }) => reply(200, { items: (await listEndpoints(deps.db, shipper?.clientId)).map(toEndpoint) }),
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/endpoints/:id',
      summary: 'One webhook endpoint',
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      params: IdParams,
      responses: { 200: { description: 'The endpoint', schema: Endpoint }, 404: notFound },
      handler: async ({ params, shipper }) => reply(200, toEndpoint(await transaction(deps, (tx) => readEndpoint(tx, scopeOf(shipper), params.id)))),
    }),
    defineRoute({
      method: 'patch',
      path: '/webhooks/endpoints/:id',
      summary: "Change an endpoint's URL, events or description; enable or disable it",
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      params: IdParams,
      body: EndpointPatch,
      responses: { 200: { description: 'The endpoint', schema: Endpoint }, 400: { description: 'Invalid input', schema: ErrorResponse }, 404: notFound },
      handler: async ({ params, body, shipper }) =>
        reply(
          200,
          toEndpoint(
            await transaction(deps, (tx) =>
              changeEndpoint(tx, settings, scopeOf(shipper), params.id, { ...body, description: body.description === '' ? null : body.description }),
            ),
          ),
        ),
    }),
    defineRoute({
      method: 'delete',
      path: '/webhooks/endpoints/:id',
      summary: 'Delete an endpoint: it receives nothing more; its delivery log is kept',
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      params: IdParams,
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      handler: async ({ params, shipper }) => {
        await transaction(deps, (tx) => deleteEndpoint(tx, scopeOf(shipper), params.id));
        return reply(204);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/endpoints/:id/rotate-secret',
      summary: 'A new signing secret; the previous one keeps signing beside it for 24 hours',
      description: 'During the overlap every delivery carries two signatures (`v1,<new> v1,<old>`), so a receiver may switch secrets at any time within it.',
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      params: IdParams,
      responses: { 200: { description: 'The endpoint with its new secret, shown once', schema: EndpointWithSecret }, 404: notFound },
      handler: async ({ params, shipper }) => {
        const { row, secret } = await transaction(deps, (tx) => rotateSecret(tx, settings, scopeOf(shipper), params.id));
        return reply(200, { ...toEndpoint(row), secret }, NO_STORE);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/webhooks/endpoints/:id/deliveries',
      summary: "An endpoint's delivery attempts, newest first",
      description: 'Each attempt: the event, the delivery status, HTTP code, duration, error and when the next attempt is due.',
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      params: IdParams,
      query: AttemptsQuery,
      responses: { 200: { description: 'Attempts', schema: pageOf(Attempt, 'WebhookAttemptPage') }, 404: notFound },
      handler: async ({ params, query, shipper }) => {
        await transaction(deps, (tx) => readEndpoint(tx, scopeOf(shipper), params.id));
        const page = await listAttempts(deps.db, params.id, query.limit, query.cursor);
        return reply(200, { items: page.items.map(toAttempt), next_cursor: page.next_cursor });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/deliveries/:id/retry',
      summary: 'Send a delivery again now, whatever its status; the schedule starts afresh',
      tags: ['webhooks'],
      auth: ADMIN,
      shipperKey: true,
      params: IdParams,
      responses: {
        202: { description: 'Queued', schema: RetryAccepted },
        404: { description: 'No such delivery', schema: ErrorResponse },
        409: { description: 'The endpoint is disabled', schema: ErrorResponse },
      },
      handler: async ({ params, shipper }) => {
        const row = await transaction(deps, (tx) => retryDelivery(tx, scopeOf(shipper), params.id));
        return reply(202, { delivery_id: row.id, status: 'PENDING' });
      },
    }),
  ];
}
