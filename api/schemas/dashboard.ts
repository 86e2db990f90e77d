/** Shapes of the dashboard's read endpoints: who is signed in, the fleet's positions, active dispatches, queue counts. */
import { z } from 'zod';
import { PROOF_KINDS } from '../../domain/proofs.js';
import { VEHICLE_TYPES } from '../../domain/cargo.js';
import { DISPATCH_STATUSES, ORDER_STATUSES } from '../../domain/dispatch-status.js';
import { USER_ROLES } from '../../domain/roles.js';
import { TEMPERATURE_PROFILE_CODES } from '../../domain/temperature-profiles.js';
import { CargoCode } from './common.js';

export const NoQuery = z.strictObject({});

export const DashboardSession = z
  .object({
    user_id: z.number(),
    email: z.string(),
    role: z.enum(USER_ROLES),
    driver_id: z.number().nullable(),
  })
  .meta({ id: 'DashboardSession', description: 'The signed-in account, so the page can show what its role may do' });

export const VehiclePosition = z
  .object({
    vehicle_id: z.number(),
    license_plate: z.string(),
    vehicle_type: z.enum(VEHICLE_TYPES),
    driver_id: z.number().nullable().meta({ description: 'The driver whose phone reported the position' }),
    driver_name: z.string().nullable(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    speed_kmh: z.number().nullable(),
    heading_deg: z.number().nullable(),
    recorded_at: z.string().nullable().meta({ description: 'When the phone took the fix; null when the vehicle never reported' }),
    reported_at: z.string().nullable().meta({ description: 'When UVIS stored it' }),
  })
  .meta({ id: 'VehiclePosition' });

export const PositionsResponse = z
  .object({
    server_time: z.string().meta({ description: "The server's clock, so pages on a skewed clock still judge staleness right" }),
    stale_after_seconds: z.number().meta({ description: 'A position older than this is shown as stale' }),
    items: z.array(VehiclePosition),
  })
  .meta({ id: 'PositionsResponse' });

export const ActiveDispatchesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(200).meta({ description: 'At most this many, newest first' }),
});

export const HistoryEntry = z.object({
  from_status: z.string().nullable(),
  to_status: z.string(),
  changed_by: z.number().nullable(),
  changed_at: z.string(),
  note: z.string().nullable(),
});

export const DispatchLimits = z
  .object({
    source: z.enum(['ORDER', 'PROFILE', 'CARGO_CLASS']).meta({ description: "The order's own limits, the profile it names, or its cargo class's profile" }),
    profile: z.enum(TEMPERATURE_PROFILE_CODES).nullable(),
    label: z.string().nullable().meta({ description: "The profile's Korean label; null for the order's own limits" }),
    label_en: z.string().nullable(),
    min_c: z.number().nullable().meta({ description: 'Warning limits in °C; null means no limit on that side (0 is a limit)' }),
    max_c: z.number().nullable(),
    critical_min_c: z.number().nullable(),
    critical_max_c: z.number().nullable(),
  })
  .meta({ id: 'DispatchLimits', description: "The temperature limits the dispatch's order is held to" });

export const ActiveDispatch = z
  .object({
    id: z.number(),
    status: z.enum(DISPATCH_STATUSES),
    order_id: z.number(),
    vehicle_id: z.number(),
    driver_id: z.number(),
    created_at: z.string(),
    updated_at: z.string(),
    order: z.object({
      pickup_address: z.string(),
      delivery_address: z.string(),
      cargo_type: CargoCode,
      weight: z.number(),
      status: z.enum(ORDER_STATUSES),
      client_id: z.number(),
    }),
    license_plate: z.string(),
    driver_name: z.string(),
    history: z.array(HistoryEntry),
    latest_reading: z
      .object({ temperature_c: z.number(), recorded_at: z.string(), sensor: z.string() })
      .nullable()
      .meta({ description: "The dispatch's newest temperature reading (by recorded_at), null before its first" }),
    limits: DispatchLimits,
    excursions: z
      .object({
        open: z.number().meta({ description: 'Current excursions still OPEN' }),
        unresolved: z.number().meta({ description: 'Current excursions OPEN or without a corrective action (they block completion)' }),
        total: z.number(),
      })
      .meta({ description: "Counts of the dispatch's current (not superseded) temperature excursions" }),
    proofs: z
      .object({
        required: z.array(z.enum(PROOF_KINDS)).meta({ description: "The order's proof_required" }),
        missing: z.array(z.enum(PROOF_KINDS)).meta({ description: 'Required kinds without a proof yet (DELIVERED is refused while any is missing)' }),
        photo: z.number(),
        signature: z.number(),
      })
      .meta({ description: 'Proofs of delivery: what the order requires, what is missing, how many of each kind exist' }),
  })
  .meta({ id: 'ActiveDispatch' });

export const ActiveDispatchList = z.object({ items: z.array(ActiveDispatch) }).meta({ id: 'ActiveDispatchList' });

export const QueueCounts = z
  .object({
    name: z.string(),
    waiting: z.number(),
    active: z.number(),
    failed: z.number(),
    delayed: z.number(),
    completed: z.number(),
    paused: z.boolean(),
  })
  .meta({ id: 'QueueCounts' });

export const QueuesResponse = z.object({ at: z.string(), queues: z.array(QueueCounts) }).meta({ id: 'QueuesResponse' });
