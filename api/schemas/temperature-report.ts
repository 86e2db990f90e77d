/** The temperature record's JSON summary (GET /dispatches/:id/temperature-report without Accept: text/csv or application/pdf). */
import { z } from 'zod';

const Time = z.string().meta({ description: 'ISO 8601, UTC' });
const Celsius = z.number().nullable();

export const TemperatureReportQuery = z.strictObject({
  format: z.enum(['json', 'csv', 'pdf']).optional().meta({
    description: 'Overrides the Accept header, for links a browser follows (a download button cannot set Accept)',
  }),
});

export const TemperatureReportSummary = z
  .object({
    generated_at: Time,
    carrier: z.string(),
    dispatch: z.object({ id: z.number(), status: z.string(), created_at: Time, finished_at: Time.nullable() }),
    order: z.object({
      id: z.number(),
      status: z.string(),
      client: z.object({ id: z.number(), name: z.string() }),
      pickup_address: z.string(),
      delivery_address: z.string(),
      cargo_type: z.string(),
      cargo_label: z.string(),
      weight: z.number(),
    }),
    vehicle: z.object({ id: z.number(), license_plate: z.string(), vehicle_type: z.string() }),
    driver: z.object({ id: z.number(), name: z.string() }),
    profile: z.object({
      source: z
        .enum(['ORDER', 'PROFILE', 'CARGO_CLASS'])
        .meta({ description: "Where the limits come from: the order's own limits, the profile it names, or its cargo class" }),
      code: z.string().nullable(),
      label: z.string().nullable(),
      label_en: z.string().nullable(),
      range: z.string().nullable(),
    }),
    limits: z.object({
      min_c: Celsius,
      max_c: Celsius,
      critical_min_c: Celsius,
      critical_max_c: Celsius,
      mkt_max_c: Celsius,
      mkt_window_s: z.number().nullable(),
    }),
    readings: z.object({
      count: z.number(),
      first_at: Time.nullable(),
      last_at: Time.nullable(),
      sensors: z.array(
        z.object({
          sensor: z.string(),
          readings: z.number(),
          first_at: Time,
          last_at: Time,
          min_c: z.number(),
          max_c: z.number(),
          mean_c: z.number().meta({ description: 'Arithmetic mean of the readings, to 0.01 °C' }),
        }),
      ),
    }),
    mkt: z
      .array(
        z.object({
          sensor: z.string(),
          window_s: z.number(),
          mkt_c: z.number().meta({ description: 'The highest mean kinetic temperature over any full window (ΔH/R = 10,000 K), to 0.01 °C' }),
          window_from: Time,
          window_to: Time,
          readings: z.number(),
          complete_window: z.boolean().meta({ description: 'false: the readings span less than the window, and the MKT is over all of them' }),
          limit_c: z.number(),
          within_limit: z.boolean(),
        }),
      )
      .nullable()
      .meta({ description: 'Per sensor, the rolling MKT verdict when the limits have an MKT limit (PHARMA_2_8: ≤ 8 °C over 24 h); null otherwise' }),
    excursions: z.array(
      z.object({
        id: z.number(),
        sensor: z.string(),
        kind: z.enum(['HIGH', 'LOW', 'DATA_GAP']),
        severity: z.enum(['WARNING', 'CRITICAL']),
        status: z.enum(['OPEN', 'CLOSED']),
        started_at: Time,
        ended_at: Time.nullable(),
        duration_s: z.number(),
        peak_c: Celsius,
        peak_at: Time.nullable(),
        mean_c: Celsius,
        readings: z.number(),
        door_open_s: z.number().nullable(),
        mkt_c: Celsius,
        actions: z.array(
          z.object({ action: z.string(), note: z.string().nullable(), by: z.object({ id: z.number().nullable(), name: z.string().nullable() }), at: Time }),
        ),
      }),
    ),
  })
  .meta({ id: 'TemperatureReportSummary' });
