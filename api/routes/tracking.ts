/** Tracking links: the public JSON of an order's tracking page, and rotating or revoking the link (staff, the order's shipper key). */
import { STAFF } from '../../domain/roles.js';
import { toOrder } from '../../db/orders.js';
import { setTrackingToken } from '../../db/tracking.js';
import { NotFoundError } from '../../lib/errors/index.js';
import { newTrackingToken } from '../../lib/tracking-token.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { Order } from '../schemas/orders.js';
import { TrackingParams, TrackingView } from '../schemas/tracking.js';
import { loadTrackingView } from '../tracking-page.js';

export function trackingRoutes(deps: AppDeps): RouteSpec[] {
  const { db, config } = deps;
  const linkRoute = (method: 'post' | 'delete') =>
    defineRoute({
      method,
      path: '/orders/:id/tracking-link',
      summary:
        method === 'post'
          ? 'Issue a new tracking link for the order; the old one stops working'
          : "Revoke the order's tracking link (tracking_url becomes null)",
      tags: ['orders', 'tracking'],
      auth: STAFF,
      shipperKey: true,
      params: IdParams,
      responses: {
        200: { description: 'The order with its new tracking_url (null when revoked)', schema: Order },
        404: { description: 'No such order (or another client’s, for a shipper key)', schema: ErrorResponse },
      },
      // One statement: the order is changed only if the caller may manage its link (staff any,
      // a shipper key its client's); another client's is a 404 like a missing one.
      handler: async ({ params, shipper }) => {
        const row = await setTrackingToken(db, params.id, method === 'post' ? newTrackingToken() : null, shipper?.clientId);
        if (!row) throw new NotFoundError('order');
        return reply(200, toOrder(row, config.publicUrl));
      },
    });
  return [
    linkRoute('post'),
    linkRoute('delete'),
    defineRoute({
      method: 'get',
      path: '/track/:token',
      summary: "An order's public tracking facts (the JSON of the page at /track/{token})",
      description: 'No personal data: status timeline to the minute, a position rounded to about 1 km while on board, whether the temperature stayed in range.',
      tags: ['tracking'],
      auth: 'public',
      params: TrackingParams,
      responses: { 200: { description: 'The tracking facts', schema: TrackingView }, 404: { description: 'Unknown or revoked link', schema: ErrorResponse } },
      handler: async ({ params }) => {
        const view = await loadTrackingView(db, params.token);
        if (!view) throw new NotFoundError('tracking link');
        return reply(200, view, { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
      },
    }),
  ];
}
