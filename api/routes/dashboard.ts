/**
 * API routes the dispatcher dashboard needs beyond the contract: who is signed in,
 * every vehicle's last position, active dispatches with their history, queue counts,
 * and the live event stream.
 *
 * The stream is server-sent events read by the page with fetch() and a
 * ReadableStream, not EventSource: EventSource cannot send an Authorization header,
 * and the alternatives (a cookie, or a token in the URL) would add a CSRF surface or
 * put credentials into logs and history. With fetch the stream is authenticated like
 * every other API call, by the bearer token, and the rest of the API stays cookie-free.
 */
import { STAFF } from '../../domain/roles.js';
import { activeDispatches, vehiclePositions } from '../../db/dashboard.js';
import { queueCounts } from '../../jobs/queue-counts.js';
import { MAX_STREAMS_PER_USER } from '../../lib/live-subscriber.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse } from '../schemas/common.js';
import { ActiveDispatchList, ActiveDispatchesQuery, DashboardSession, NoQuery, PositionsResponse, QueuesResponse } from '../schemas/dashboard.js';

/** A vehicle that has not reported for this long is drawn as stale. */
export const STALE_AFTER_SECONDS = 600;

const errors = {
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'Not a dispatcher or admin', schema: ErrorResponse },
};

const NO_STORE = { 'Cache-Control': 'no-store' };

export function dashboardRoutes(deps: AppDeps): RouteSpec[] {
  const { db, queues, config, principals } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/dashboard/session',
      summary: 'The signed-in account (dashboard: role, email)',
      tags: ['dashboard'],
      auth: STAFF,
      query: NoQuery,
      responses: { 200: { description: 'The account', schema: DashboardSession }, ...errors },
      handler: async ({ principal }) =>
        reply(200, { user_id: principal.userId, email: principal.email, role: principal.role, driver_id: principal.driverId }, NO_STORE),
    }),
    defineRoute({
      method: 'get',
      path: '/dashboard/positions',
      summary: 'Every active vehicle with its last known position and when it was reported',
      tags: ['dashboard'],
      auth: STAFF,
      query: NoQuery,
      responses: { 200: { description: 'Vehicles and positions', schema: PositionsResponse }, ...errors },
      handler: async () =>
        reply(200, { server_time: new Date().toISOString(), stale_after_seconds: STALE_AFTER_SECONDS, items: await vehiclePositions(db) }, NO_STORE),
    }),
    defineRoute({
      method: 'get',
      path: '/dashboard/dispatches',
      summary: 'Active dispatches, newest first, with order, vehicle, driver, status history, latest temperature, limits and excursion counts',
      tags: ['dashboard'],
      auth: STAFF,
      query: ActiveDispatchesQuery,
      responses: { 200: { description: 'Active dispatches', schema: ActiveDispatchList }, ...errors },
      handler: async ({ query }) => reply(200, { items: await activeDispatches(db, query.limit) }, NO_STORE),
    }),
    defineRoute({
      method: 'get',
      path: '/dashboard/queues',
      summary: 'Waiting, active, failed and delayed jobs per queue',
      tags: ['dashboard'],
      auth: STAFF,
      query: NoQuery,
      responses: {
        200: { description: 'Counts per queue', schema: QueuesResponse },
        503: { description: 'Redis unavailable', schema: ErrorResponse },
        ...errors,
      },
      handler: async () => reply(200, { at: new Date().toISOString(), queues: await queueCounts(queues, config.redisCommandTimeoutMs) }, NO_STORE),
    }),
    defineRoute({
      method: 'get',
      path: '/dashboard/events',
      summary: 'Live events (server-sent events): dispatch, order, positions, excursion, temperature, queues',
      description:
        'A text/event-stream that stays open. Events: `hello` (subscribed; load data now), `dispatch`, `order`, `positions`, `excursion`, `geofence` ' +
        "and `temperature` (as the workers publish them, from any replica; `temperature` is a dispatch's latest reading after a stored " +
        'batch: dispatch_id, vehicle_id, sensor, recorded_at, temperature_c, door_open, in_range), `queues` (counts per queue, when they change), `resync` (events may have ' +
        'been missed: reload), `bye` (the server ends the stream: token expired, session ended, or shutting down; reconnect). ' +
        'A comment line arrives every 15 seconds. Send the bearer token as on every call (read it with fetch, not EventSource).',
      tags: ['dashboard'],
      auth: STAFF,
      query: NoQuery,
      responses: {
        200: { description: 'The event stream', contentType: 'text/event-stream' },
        429: { description: `This account already holds its maximum of live streams (${MAX_STREAMS_PER_USER})`, schema: ErrorResponse },
        503: { description: 'Redis unavailable, too many streams, or shutting down; retry', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ res, principal }) => {
        await deps.liveHub.open(res, {
          userId: principal.userId,
          // Set by authenticate: the access token's expiry or its session's end, whichever is first.
          // The page reconnects with a fresh token; a stream never outlives the session that opened it.
          expiresAt: (res.locals.accessExpiresAt as number | undefined) ?? Date.now() + 60_000,
          stillAllowed: async () => {
            const current = await principals.get({ sessionId: principal.sessionId, userId: principal.userId });
            return current !== undefined && STAFF.includes(current.role);
          },
        });
        // The hub owns the response from here on.
        return undefined;
      },
    }),
  ];
}
