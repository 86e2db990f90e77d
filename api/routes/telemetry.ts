/**
 * Reefer temperature telemetry: ingest from a driver's phone (paired with the reefer's
 * logger) and from a vehicle gateway (API key bound to one vehicle), queued like GPS
 * posts and stored in batches by the telemetry worker (jobs/telemetry.ts); a
 * dispatch's readings in time order for staff and its own driver.
 */
import { readableDispatch } from '../dispatch-access.js';
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { z } from 'zod';
import { activeDispatchOfDriver, getDispatch } from '../../db/dispatches.js';
import { listDispatchReadings } from '../../db/temperatures.js';
import type { TemperatureReadings } from '../../jobs/telemetry.js';
import { ConflictError, ValidationError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import { idempotencyKey } from '../idempotency.js';
import { claimLocationKey } from '../location-idempotency.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { ReadingPage, TemperatureAccepted, TemperatureBatch, TemperatureQuery } from '../schemas/telemetry.js';

type PostedReading = z.output<typeof TemperatureBatch>['readings'][number];

export function telemetryRoutes(deps: AppDeps): RouteSpec[] {
  const { db, producer } = deps;

  /**
   * Validation has passed for every reading (one bad reading refuses the batch before
   * this). With an Idempotency-Key the job id derives from it (api/location-idempotency.ts);
   * without one a re-sent batch is still stored once, by (vehicle, sensor, recorded_at).
   */
  async function enqueueReadings(req: Request, owner: string | number, vehicleId: number, source: 'driver' | 'gateway', readings: PostedReading[]) {
    const data: TemperatureReadings = {
      vehicleId,
      source,
      receivedAt: new Date().toISOString(),
      readings: readings.map((r) => ({
        recordedAt: r.recorded_at,
        temperatureC: r.temperature_c,
        sensor: r.sensor,
        setpointC: r.setpoint_c ?? null,
        doorOpen: r.door_open ?? null,
      })),
    };
    const key = idempotencyKey(req);
    // The vehicle is part of the request: the same key and body for another vehicle is a different request.
    const claim = key ? await claimLocationKey(deps.redis, deps.config.redisPrefix, req, owner, key, { vehicleId, readings }, 'temp') : undefined;
    const jobId = claim?.jobId ?? randomUUID();
    try {
      await producer.add('telemetry', 'readings', data, { jobId });
    } catch (err) {
      await claim?.release().catch(() => {});
      throw err;
    }
    const body = { job_id: jobId, queue: 'telemetry', accepted: readings.length, vehicle_id: vehicleId };
    return reply(202, body, claim?.replay ? { 'Idempotent-Replayed': 'true' } : undefined);
  }

  const postResponses = {
    202: { description: 'Queued; stored by a worker within moments, once per (vehicle, sensor, recorded_at)', schema: TemperatureAccepted },
    400: { description: 'A bad reading (the field is named, e.g. body.readings.3.temperature_c); nothing of the batch is queued', schema: ErrorResponse },
    422: { description: 'The Idempotency-Key was used for a different request', schema: ErrorResponse },
    429: { description: 'Over the location rate limit (shared with GPS posts)', schema: ErrorResponse },
    503: {
      description: 'Redis unavailable or too slow: the readings may have been queued all the same. Retry with the same Idempotency-Key and body (safe)',
      schema: ErrorResponse,
    },
  };

  return [
    defineRoute({
      method: 'post',
      path: '/mobile/temperatures',
      summary: "Post reefer temperature readings for the vehicle of the driver's active dispatch (queued)",
      description:
        "The readings belong to the vehicle of the driver's active dispatch; without an active dispatch the post is refused (409 `no_active_dispatch`), since the phone cannot tell which reefer it is paired with. Each reading is attached to the dispatch active on that vehicle at its `recorded_at`.",
      tags: ['mobile', 'telemetry'],
      auth: 'driver',
      rateLimit: 'location',
      body: TemperatureBatch,
      bodyLimit: '128kb',
      idempotencyKey: true,
      responses: {
        ...postResponses,
        409: { description: 'No active dispatch: no vehicle to record for (`no_active_dispatch`)', schema: ErrorResponse },
      },
      handler: async ({ body, req, principal }) => {
        const active = await activeDispatchOfDriver(db, principal.driverId!);
        if (!active) throw new ConflictError('no active dispatch: temperatures are recorded for the vehicle of your active dispatch', 'no_active_dispatch');
        return enqueueReadings(req, principal.driverId!, active.vehicle_id, 'driver', body.readings);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/telemetry/temperatures',
      summary: 'Post reefer temperature readings from a vehicle gateway (queued); the API key decides the vehicle',
      tags: ['telemetry'],
      auth: 'vehicle-key',
      rateLimit: 'location',
      body: TemperatureBatch,
      bodyLimit: '128kb',
      idempotencyKey: true,
      responses: postResponses,
      handler: async ({ body, req, vehicleKey }) => enqueueReadings(req, `key${vehicleKey.keyId}`, vehicleKey.vehicleId, 'gateway', body.readings),
    }),
    defineRoute({
      method: 'get',
      path: '/dispatches/:id/temperatures',
      summary: "A dispatch's temperature readings in time order, paged",
      description: "Staff see any dispatch's readings; a driver only their own dispatches' (another's is a 404, as if it did not exist).",
      tags: ['dispatches', 'telemetry'],
      auth: 'authenticated',
      params: IdParams,
      query: TemperatureQuery,
      responses: {
        200: { description: 'Readings by recorded_at, then id', schema: ReadingPage },
        404: { description: 'No such dispatch (among your own, for a driver)', schema: ErrorResponse },
      },
      handler: async ({ params, query, principal }) => {
        const from = query.from ? new Date(query.from) : undefined;
        const to = query.to ? new Date(query.to) : undefined;
        if (from && to && from >= to) throw new ValidationError('invalid range', [{ field: 'query.from', message: 'must be before `to`' }]);
        readableDispatch({ principal }, await getDispatch(db, params.id));
        return reply(200, await listDispatchReadings(db, { dispatchId: params.id, from, to, limit: query.limit, cursor: query.cursor }));
      },
    }),
  ];
}
