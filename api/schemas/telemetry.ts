import { z } from 'zod';
import { MAX_READINGS_PER_POST, TEMPERATURE_MAX_C, TEMPERATURE_MIN_C } from '../../jobs/telemetry.js';
import { Cursor, FreeText, BodyId, Timestamp, pageOf } from './common.js';
import { FIX_TIME_MAX_AGE_DAYS, FIX_TIME_MAX_AHEAD_MS, FixTime } from './mobile.js';

const Celsius = z.number().min(TEMPERATURE_MIN_C).max(TEMPERATURE_MAX_C);

export const TemperatureReadingPost = z
  .strictObject({
    recorded_at: FixTime.meta({
      description: `When the logger took the reading (its own clock). At most ${FIX_TIME_MAX_AHEAD_MS / 60_000} minutes ahead (clock skew) and ${FIX_TIME_MAX_AGE_DAYS} days old.`,
    }),
    temperature_c: Celsius.meta({ description: `°C, ${TEMPERATURE_MIN_C} to ${TEMPERATURE_MAX_C}; stored to 0.01 °C`, example: 3.5 }),
    sensor: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,50}$/, 'letters, digits and _ . : - only, 1 to 50 characters')
      .default('main')
      .meta({ description: "The probe, e.g. 'main', 'return-air', 'zone2'; default 'main'. A reading is stored once per (vehicle, sensor, recorded_at)" }),
    setpoint_c: Celsius.nullable().optional().meta({ description: "The reefer unit's setpoint, °C" }),
    door_open: z.boolean().nullable().optional().meta({ description: 'Whether the cargo door was open, if the logger reports it' }),
  })
  .meta({ id: 'TemperatureReadingPost' });

export const TemperatureBatch = z
  .strictObject({ readings: z.array(TemperatureReadingPost).min(1).max(MAX_READINGS_PER_POST) })
  .meta({ id: 'TemperatureBatch', description: `Up to ${MAX_READINGS_PER_POST} readings, in any order; one bad reading refuses the whole batch` });

export const TemperatureAccepted = z
  .object({ job_id: z.string(), queue: z.literal('telemetry'), accepted: z.number(), vehicle_id: z.number() })
  .meta({ id: 'TemperatureAccepted' });

export const TemperatureQuery = z.strictObject({
  from: Timestamp.optional().meta({ description: 'Readings recorded at or after; default: the first' }),
  to: Timestamp.optional().meta({ description: 'Readings recorded before; default: the last' }),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  cursor: Cursor,
});

export const StoredReading = z
  .object({
    id: z.number(),
    vehicle_id: z.number(),
    dispatch_id: z.number().nullable(),
    sensor: z.string(),
    recorded_at: z.string(),
    temperature_c: z.number(),
    setpoint_c: z.number().nullable(),
    door_open: z.boolean().nullable(),
    source: z.enum(['driver', 'gateway']),
    received_at: z.string(),
  })
  .meta({ id: 'StoredReading' });

export const ReadingPage = pageOf(StoredReading, 'ReadingPage');

export const ApiKeyCreate = z
  .strictObject({
    name: FreeText({ min: 1, max: 100 }).meta({ example: '냉동 1호차 게이트웨이' }),
    role: z.enum(['telematics', 'shipper']).default('telematics').meta({
      description:
        "'telematics' (the default): a vehicle gateway posting temperatures, bound to vehicle_id. 'shipper': a shipper's integration, bound to client_id: its client's orders, dispatches, temperature records and webhooks.",
    }),
    vehicle_id: BodyId.optional().meta({ description: 'The vehicle of a telematics key (required for one, refused for a shipper key)', example: 1 }),
    client_id: BodyId.optional().meta({ description: 'The client of a shipper key (required for one, refused for a telematics key)', example: 1 }),
  })
  .superRefine((key, ctx) => {
    const [bound, other] = key.role === 'shipper' ? (['client_id', 'vehicle_id'] as const) : (['vehicle_id', 'client_id'] as const);
    if (key[bound] === undefined) ctx.addIssue({ code: 'custom', path: [bound], message: `Required for a ${key.role} key` });
    if (key[other] !== undefined) ctx.addIssue({ code: 'custom', path: [other], message: `Not allowed for a ${key.role} key` });
  })
  .meta({ id: 'ApiKeyCreate' });

export const ApiKey = z
  .object({
    id: z.number(),
    name: z.string(),
    role: z.enum(['telematics', 'shipper']),
    vehicle_id: z.number().nullable(),
    client_id: z.number().nullable(),
    prefix: z.string().meta({ description: 'The first characters of the key, to tell keys apart', example: 'uvk_a1B2c3' }),
    created_by: z.number().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

export const ApiKeyCreated = ApiKey.extend({
  key: z.string().meta({ description: 'The secret: shown this once, stored only as a hash. Send it as X-Api-Key.' }),
}).meta({ id: 'ApiKeyCreated' });
