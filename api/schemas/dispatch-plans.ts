/** Dispatch suggestions and plans (DESIGN.md "Dispatch suggestions"; docs/dispatch-suggestions.md). */
import { z } from 'zod';
import { BodyId } from './common.js';
import { Dispatch } from './dispatches.js';

export const SuggestionsQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(50)
    .default(5)
    .meta({ description: 'How many suggestions (1 to 50); every excluded pair is listed whatever the limit' }),
});

const Term = (description: string) => z.number().min(0).max(1).meta({ description });

export const ScoreTerms = z
  .object({
    distance: Term('1 / (1 + km / 25) from the vehicle (latest GPS fix, else its base) to the pickup; 0 when either is unknown'),
    capacity_fit: Term("The order's weight over the vehicle's capacity: 1 is a full truck"),
    reefer_readiness: Term("The vehicle's latest reading (≤ 2 h old) against the order's limits: 1 inside, 1 / (1 + °C off / 5) outside, 0.5 without one"),
    fairness: Term('1 / (1 + the driver’s assignments today)'),
  })
  .meta({ id: 'ScoreTerms', description: 'Each term from 0 to 1; the score is their weighted mean × 100 (weights: DISPATCH_WEIGHT_*)' });

export const ExclusionReason = z
  .object({
    code: z.string().meta({
      description:
        'order_not_pending, vehicle_inactive, driver_inactive, vehicle_busy, driver_busy, capacity_exceeded, cargo_class_unsupported, ' +
        'temperature_profile_unsupported, driving_break_required, daily_rest_required, no_driver, no_vehicle',
      example: 'capacity_exceeded',
    }),
    message: z.string(),
    until: z.string().optional().meta({ description: 'Driving-time rules: when the driver is within them again' }),
  })
  .meta({ id: 'ExclusionReason' });

export const Suggestions = z
  .object({
    order_id: z.number(),
    items: z.array(
      z.object({
        vehicle_id: z.number(),
        driver_id: z.number(),
        score: z.number().meta({ description: '0 to 100', example: 83.5 }),
        distance_km: z.number().nullable(),
        terms: ScoreTerms,
        details: z.object({
          license_plate: z.string(),
          driver_name: z.string(),
          position: z.enum(['gps', 'base']).nullable().meta({ description: 'Where the distance was measured from' }),
          position_at: z.string().nullable(),
          temperature_c: z.number().nullable().meta({ description: 'The reading reefer_readiness used; null without a recent one' }),
          temperature_at: z.string().nullable(),
          assignments_today: z.number(),
        }),
      }),
    ),
    excluded: z.array(
      z.object({
        vehicle_id: z.number().nullable().meta({ description: 'null: a driver without a registered vehicle' }),
        driver_id: z.number().nullable().meta({ description: 'null: a vehicle no driver has registered' }),
        license_plate: z.string().nullable(),
        driver_name: z.string().nullable(),
        reasons: z.array(ExclusionReason).min(1),
      }),
    ),
  })
  .meta({ id: 'Suggestions' });

export const PlanCreate = z
  .strictObject({
    order_ids: z
      .array(BodyId)
      .min(1)
      .max(1000)
      .optional()
      .meta({ description: 'The orders to plan; default: every PENDING order (the oldest 1,000)', example: [1, 2, 3] }),
  })
  .optional();

const PlanReason = z.object({ code: z.string(), message: z.string(), pairs: z.number().optional() });

export const Plan = z
  .object({
    id: z.number(),
    created_at: z.string(),
    expires_at: z.string(),
    assignments: z.array(
      z.object({ order_id: z.number(), vehicle_id: z.number(), driver_id: z.number(), score: z.number(), distance_km: z.number().nullable() }),
    ),
    unassigned: z.array(
      z.object({
        order_id: z.number(),
        reasons: z.array(PlanReason).meta({
          description:
            'order_not_pending; compatible_pairs_taken (its possible vehicles went to other orders); no_compatible_pair followed by each hard filter with the number of pairs it excluded',
        }),
      }),
    ),
    total_score: z.number().meta({ description: 'Sum of the assignments’ scores' }),
    stats: z.object({
      orders: z.number(),
      vehicles: z.number(),
      pairs: z.number(),
      solver_ms: z.number(),
      greedy: z
        .object({ assigned: z.number(), total_score: z.number() })
        .meta({ description: 'Oldest order first, each taking its best free vehicle: the baseline' }),
    }),
    applied_at: z.string().nullable(),
    dispatch_ids: z.array(z.number()).nullable(),
  })
  .meta({ id: 'DispatchPlan' });

export const PlanApplied = z.object({ id: z.number(), applied_at: z.string(), dispatches: z.array(Dispatch) }).meta({ id: 'DispatchPlanApplied' });
