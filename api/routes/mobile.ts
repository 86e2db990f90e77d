/** The driver's app: own dispatches, status updates, today's summary, GPS posts. */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { suggestedStatus } from '../../domain/geofences.js';
import { seoulDay } from '../../domain/seoul-day.js';
import { driverActiveDispatches, driverDaySummary, toDispatch } from '../../db/dispatches.js';
import type { LocationPoints } from '../../jobs/locations.js';
import { cacheNames } from '../../lib/cache.js';
import { changeDispatchStatus } from '../../use-cases/dispatches.js';
import type { AppDeps } from '../deps.js';
import { idempotencyKey, idempotentTransaction } from '../idempotency.js';
import { claimLocationKey } from '../location-idempotency.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { DispatchWithOrderStatus, DriverSummary, LocationAccepted, LocationBatch, LocationPost, MobileDispatch, StatusUpdate } from '../schemas/mobile.js';
import { z } from 'zod';

const errors = {
  400: { description: 'Invalid input', schema: ErrorResponse },
  401: { description: 'Not signed in', schema: ErrorResponse },
  403: { description: 'The account is not linked to a driver', schema: ErrorResponse },
};

type PostedPoint = z.output<typeof LocationPost>;

function toJobPoint(p: PostedPoint): LocationPoints['points'][number] {
  return {
    lat: p.latitude,
    lng: p.longitude,
    recordedAt: p.recorded_at,
    speed: p.speed,
    heading: p.heading,
    accuracy: p.accuracy,
    key: p.point_id,
  };
}

export function mobileRoutes(deps: AppDeps): RouteSpec[] {
  const { db, cache, producer, metrics } = deps;

  /**
   * The hot path: token check, validation, rate limit, enqueue. With an
   * Idempotency-Key the job id is derived from it and a retried post answers as
   * the first did (api/location-idempotency.ts).
   */
  async function enqueuePoints(req: Request, driverId: number, points: PostedPoint[]) {
    const data = { driverId, receivedAt: new Date().toISOString(), points: points.map(toJobPoint) };
    const key = idempotencyKey(req);
    const claim = key ? await claimLocationKey(deps.redis, deps.config.redisPrefix, req, driverId, key, points) : undefined;
    const jobId = claim?.jobId ?? randomUUID();
    try {
      await producer.add('locations', 'points', data, { jobId });
    } catch (err) {
      await claim?.release().catch(() => {});
      throw err;
    }
    if (claim?.replay) return reply(202, { job_id: jobId, queue: 'locations', accepted: points.length }, { 'Idempotent-Replayed': 'true' });
    metrics.locationsAccepted.inc(points.length);
    return reply(202, { job_id: jobId, queue: 'locations', accepted: points.length });
  }

  const locationResponses = {
    202: { description: 'Queued; stored by a worker within moments', schema: LocationAccepted },
    422: { description: 'The Idempotency-Key was used for a different request', schema: ErrorResponse },
    429: { description: 'Over the location rate limit', schema: ErrorResponse },
    503: {
      description:
        'Redis unavailable or too slow: the points may have been queued all the same. Keep them and retry with the same Idempotency-Key and body (safe: the same job, no point stored twice)',
      schema: ErrorResponse,
    },
    ...errors,
  };

  return [
    defineRoute({
      method: 'get',
      path: '/mobile/dispatches',
      summary: "The driver's own active dispatches, with addresses, cargo and the status their geofence events suggest",
      tags: ['mobile'],
      auth: 'driver',
      responses: { 200: { description: 'Active dispatches, oldest first', schema: z.array(MobileDispatch) }, ...errors },
      handler: async ({ principal }) => {
        const dispatches = await driverActiveDispatches(db, principal.driverId!);
        // Computed on each read against the status now: a suggestion the driver followed disappears at once.
        return reply(
          200,
          dispatches.map(({ latestGeofenceEvent, ...d }) => ({ ...d, suggested_status: suggestedStatus(d.status, latestGeofenceEvent) })),
        );
      },
    }),
    defineRoute({
      method: 'put',
      path: '/mobile/dispatches/:id/status',
      summary: 'Report a status change of an own dispatch; the order follows at once',
      description:
        'Forward only (skipping ahead is allowed); moving back or changing a finished dispatch is 409. Reporting the current status again changes nothing.',
      tags: ['mobile'],
      auth: 'driver',
      params: IdParams,
      body: StatusUpdate,
      idempotencyKey: true,
      responses: {
        200: { description: 'The dispatch after the change, with its order status', schema: DispatchWithOrderStatus },
        404: { description: 'No such dispatch among your own', schema: ErrorResponse },
        409: { description: 'Not a forward move', schema: ErrorResponse },
        ...errors,
      },
      handler: async ({ params, body, req, principal }) =>
        idempotentTransaction(deps, req, { userId: principal.userId }, body, async (tx) => {
          const { dispatch, order } = await changeDispatchStatus(tx, deps, {
            dispatchId: params.id,
            to: body.status,
            actor: { kind: 'driver', userId: principal.userId, driverId: principal.driverId! },
            note: body.note,
            same: 'no-op',
          });
          return reply(200, { ...toDispatch(dispatch), order_status: order.status });
        }),
    }),
    defineRoute({
      method: 'get',
      path: '/mobile/summary',
      summary: "The driver's counts for today (Korean time); cached, fresh after every change",
      tags: ['mobile'],
      auth: 'driver',
      responses: { 200: { description: "Today's counts", schema: DriverSummary }, ...errors },
      handler: async ({ principal }) => {
        const driverId = principal.driverId!;
        const load = async () => {
          const day = seoulDay();
          return { date: day.date, driver_id: driverId, ...(await driverDaySummary(db, driverId, day.start, day.end)) };
        };
        let summary = await cache.getOrLoad(cacheNames.driverSummary(driverId), 300, load);
        if (summary.date !== seoulDay().date) summary = await load();
        return reply(200, summary);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/mobile/location',
      summary: 'Post one GPS position (queued)',
      tags: ['mobile'],
      auth: 'driver',
      rateLimit: 'location',
      body: LocationPost,
      bodyLimit: '2kb',
      idempotencyKey: true,
      responses: locationResponses,
      handler: async ({ body, req, principal }) => enqueuePoints(req, principal.driverId!, [body]),
    }),
    defineRoute({
      method: 'post',
      path: '/mobile/locations',
      summary: 'Post a batch of GPS positions, e.g. an offline buffer (queued as one job)',
      tags: ['mobile'],
      auth: 'driver',
      rateLimit: 'location',
      body: LocationBatch,
      bodyLimit: '128kb',
      idempotencyKey: true,
      responses: locationResponses,
      handler: async ({ body, req, principal }) => enqueuePoints(req, principal.driverId!, body.points),
    }),
  ];
}
