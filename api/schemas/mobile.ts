import { z } from 'zod';
import { DISPATCH_STATUSES } from '../../domain/dispatch-status.js';
import { MAX_POINTS_PER_POST } from '../../jobs/locations.js';
import { Dispatch } from './dispatches.js';
import { Cursor, FreeText, Latitude, Limit, Longitude, Timestamp, pageOf } from './common.js';

/**
 * Statuses a driver may report; cancelling is the dispatcher's call. ASSIGNED is
 * listed so that moving back to it is refused as a transition (409), like any other.
 */
export const DRIVER_STATUSES = ['ASSIGNED', 'ACCEPTED', 'PICKED_UP', 'IN_TRANSIT', 'DELIVERED', 'COMPLETED', 'FAILED'] as const;

export const StatusUpdate = z
  .strictObject({
    status: z.enum(DRIVER_STATUSES).meta({ example: 'COMPLETED' }),
    note: FreeText({ max: 500, trim: false, allowEmpty: true }).optional(),
  })
  .meta({ id: 'StatusUpdate' });

/** How far a phone's clock may run ahead, and how old a buffered point may be. */
export const FIX_TIME_MAX_AHEAD_MS = 5 * 60_000;
export const FIX_TIME_MAX_AGE_DAYS = 30;

/**
 * When the phone took the fix. A point from the future would pin the driver's latest
 * position until that time came; one older than a month is no longer a position anyone
 * dispatches by (and is not what an offline buffer holds).
 */
export const FixTime = Timestamp.refine((value) => Date.parse(value) <= Date.now() + FIX_TIME_MAX_AHEAD_MS, {
  message: `more than ${FIX_TIME_MAX_AHEAD_MS / 60_000} minutes in the future: check the phone's clock`,
}).refine((value) => Date.parse(value) >= Date.now() - FIX_TIME_MAX_AGE_DAYS * 86_400_000, {
  message: `older than ${FIX_TIME_MAX_AGE_DAYS} days`,
});

export const LocationPost = z
  .strictObject({
    latitude: Latitude.meta({ example: 37.5665 }),
    longitude: Longitude.meta({ example: 126.978 }),
    recorded_at: FixTime.optional().meta({
      description: `When the phone took the fix; defaults to when the API received it. At most ${FIX_TIME_MAX_AHEAD_MS / 60_000} minutes ahead and ${FIX_TIME_MAX_AGE_DAYS} days old.`,
    }),
    speed: z.number().min(0).max(400).nullable().optional().meta({ description: 'km/h' }),
    heading: z.number().min(0).max(360).nullable().optional().meta({ description: 'degrees' }),
    accuracy: z.number().min(0).max(100_000).nullable().optional().meta({ description: 'metres' }),
    point_id: z.string().min(1).max(100).optional().meta({ description: "The app's own id for this point; a point is stored once per id" }),
  })
  .meta({ id: 'LocationPost' });

export const LocationBatch = z
  .strictObject({ points: z.array(LocationPost).min(1).max(MAX_POINTS_PER_POST) })
  .meta({ id: 'LocationBatch', description: `An offline buffer: up to ${MAX_POINTS_PER_POST} points` });

export const LocationAccepted = z.object({ job_id: z.string(), queue: z.literal('locations'), accepted: z.number() }).meta({ id: 'LocationAccepted' });

export const MobileDispatch = Dispatch.extend({
  order: z.object({
    id: z.number(),
    pickup_address: z.string(),
    delivery_address: z.string(),
    cargo_type: z.string(),
    weight: z.number(),
    status: z.string(),
  }),
  suggested_status: z.enum(DISPATCH_STATUSES).nullable().meta({
    description:
      'What the latest geofence event suggests the driver report next (arrived at the pickup: PICKED_UP; left it: IN_TRANSIT; arrived at the drop-off with the cargo: DELIVERED; left it once DELIVERED: COMPLETED), or null. Never applied by itself: the driver confirms with PUT /mobile/dispatches/:id/status',
  }),
}).meta({ id: 'MobileDispatch' });

export const DispatchWithOrderStatus = Dispatch.extend({ order_status: z.string() }).meta({ id: 'DispatchWithOrderStatus' });

export const DriverSummary = z
  .object({
    date: z.string().meta({ example: '2026-11-27' }),
    driver_id: z.number(),
    active: z.number(),
    assigned_today: z.number(),
    completed_today: z.number(),
    failed_today: z.number(),
    cancelled_today: z.number(),
  })
  .meta({ id: 'DriverSummary' });

export const LocationQuery = z.strictObject({
  from: Timestamp.optional().meta({ description: 'Default: 24 hours before `to`' }),
  to: Timestamp.optional().meta({ description: 'Default: now' }),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  cursor: Cursor,
});

export const StoredLocation = z
  .object({
    id: z.number(),
    driver_id: z.number(),
    vehicle_id: z.number().nullable(),
    latitude: z.number(),
    longitude: z.number(),
    speed_kmh: z.number().nullable(),
    heading_deg: z.number().nullable(),
    accuracy_m: z.number().nullable(),
    recorded_at: z.string(),
    received_at: z.string(),
  })
  .meta({ id: 'StoredLocation' });

export const LocationPage = pageOf(StoredLocation, 'LocationPage');
export { Limit };
