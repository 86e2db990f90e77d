/**
 * Who should take an order, and why not the others (issue 18; DESIGN.md "Dispatch suggestions").
 *
 * A candidate is a vehicle with a driver registered to it (drivers.vehicle_id): the pairs a
 * dispatcher assigns most days. Each pair either fails hard filters, every one of them named,
 * or gets a score from 0 to 100: the weighted mean of four terms, each between 0 and 1.
 *
 * Hard filters: the rules of a manual dispatch (domain/assignment.ts: active, free, capacity,
 * cargo class), the order's temperature profile (temperatureProfileClass below) and the
 * driving-time rules (domain/driving-time.ts).
 *
 * Terms:
 * - distance: 1 / (1 + km / 25) from the vehicle's latest position (its driver's last GPS fix
 *   from that vehicle) or else its base, to the pickup: 1 on the spot, 0.5 at 25 km, 0.2 at
 *   100 km, 0.08 at 300 km. It never reaches 0, so far trucks stay ordered among themselves.
 *   0 when either end is unknown (no position, no base, or a pickup not yet placed).
 * - capacity_fit: the order's weight over the vehicle's capacity: a 2.5-t order fits a 5-t truck
 *   (0.5) better than a 25-t one (0.1), which stays free for the loads only it can take.
 * - reefer_readiness: the vehicle's latest reading (any sensor, at most 2 hours old) against the
 *   order's limits: 1 inside them, 1 / (1 + °C away / 5) outside (0.5 at 5 °C off). 0.5 without a
 *   recent reading: unknown is neither ready nor warm.
 * - fairness: 1 / (1 + assignments today) for the driver (Korean calendar day, cancelled ones
 *   not counted): the day's work spreads over the drivers.
 */
import { assignmentRefusals, type RefusalCode } from './assignment.js';
import type { CargoClass } from './cargo.js';
import { CARGO_INFO } from './cargo.js';
import type { OrderStatus } from './dispatch-status.js';
import type { DrivingTimeCheck, DrivingTimeCode } from './driving-time.js';
import { haversineKm, type Point } from './geo.js';
import type { ResolvedLimits, TemperatureLimits } from './temperature-profiles.js';

export const DISTANCE_HALF_KM = 25;
export const REEFER_HALF_C = 5;
export const READING_MAX_AGE_MS = 2 * 3600_000;

/** Every reason a pair can be excluded for, and every reason a plan gives for an order it leaves out. */
export const EXCLUSION_CODES = [
  'order_not_pending',
  'vehicle_inactive',
  'driver_inactive',
  'vehicle_busy',
  'driver_busy',
  'capacity_exceeded',
  'cargo_class_unsupported',
  'temperature_profile_unsupported',
  'driving_break_required',
  'daily_rest_required',
  'no_driver',
  'no_vehicle',
] as const;
export const PLAN_REASON_CODES = ['order_not_pending', 'compatible_pairs_taken', 'no_compatible_pair', ...EXCLUSION_CODES] as const;

export type ExclusionCode = RefusalCode | DrivingTimeCode | 'temperature_profile_unsupported' | 'no_driver' | 'no_vehicle';
// Both ways: a new code must be listed above (and labelled on the dashboard).
const _everyCodeListed: ExclusionCode extends (typeof EXCLUSION_CODES)[number]
  ? (typeof EXCLUSION_CODES)[number] extends ExclusionCode
    ? true
    : never
  : never = true;
void _everyCodeListed;

export interface Exclusion {
  code: ExclusionCode;
  message: string;
  /** For the driving-time rules: when the driver is within them again. */
  until?: Date;
}

export interface ScoreWeights {
  distance: number;
  capacityFit: number;
  reeferReadiness: number;
  fairness: number;
}

/** Each term's value, 0 to 1, rounded to 3 decimals. */
export interface ScoreTerms {
  distance: number;
  capacity_fit: number;
  reefer_readiness: number;
  fairness: number;
}

export interface OrderFacts {
  id: number;
  status: OrderStatus;
  cargoType: CargoClass;
  weightKg: number;
  limits: ResolvedLimits;
  /** null until the pickup is placed (given coordinates, or the orders worker's estimate). */
  pickup: Point | null;
}

export interface VehicleFacts {
  id: number;
  active: boolean;
  capacityKg: number;
  cargoClasses: CargoClass[];
  /** Id of the active dispatch holding it, if any. */
  busyWith?: number;
  position: { point: Point; source: 'gps' | 'base'; at: Date | null } | null;
  latestReading: { temperatureC: number; at: Date } | null;
}

export interface DriverFacts {
  id: number;
  active: boolean;
  busyWith?: number;
  drivingTime: DrivingTimeCheck;
  assignmentsToday: number;
}

export type PairEvaluation =
  { ok: false; exclusions: Exclusion[] } | { ok: true; score: number; distanceKm: number | null; terms: ScoreTerms; readingUsed: boolean };

/**
 * The cargo class a vehicle must carry to hold an order's temperature limits, when they ask more
 * than its cargo class does: PHARMA_2_8 and own limits that stay at or below 10 °C need a chilled
 * hold, limits below 0 °C a frozen one, any other own limits narrower than ambient (1 to 35 °C)
 * a temperature-controlled (chilled) hold. null: the cargo class says enough.
 */
export function temperatureProfileClass(order: Pick<OrderFacts, 'cargoType' | 'limits'>): CargoClass | null {
  const { source, profile, limits } = order.limits;
  if (source === 'CARGO_CLASS') return null;
  if (source === 'PROFILE') {
    if (profile === 'PHARMA_2_8') return 'CHILLED';
    if (profile === 'AMBIENT' || profile === order.cargoType) return null;
    return profile as CargoClass;
  }
  if (limits.max !== null && limits.max < 0) return 'FROZEN';
  if (limits.max !== null && limits.max <= 10) return 'CHILLED';
  if ((limits.min !== null && limits.min > 1) || (limits.max !== null && limits.max < 35)) return 'CHILLED';
  return null;
}

/** Every reason a pair cannot take the order (empty: it can). */
export function pairExclusions(order: OrderFacts, vehicle: VehicleFacts, driver: DriverFacts): Exclusion[] {
  const exclusions: Exclusion[] = assignmentRefusals({
    order: { id: order.id, status: order.status, cargoType: order.cargoType, weightKg: order.weightKg },
    vehicle: { id: vehicle.id, active: vehicle.active, capacityKg: vehicle.capacityKg, cargoClasses: vehicle.cargoClasses },
    driver: { id: driver.id, active: driver.active },
    vehicleBusyWith: vehicle.busyWith,
    driverBusyWith: driver.busyWith,
  });
  const needed = temperatureProfileClass(order);
  if (needed !== null && !vehicle.cargoClasses.includes(needed)) {
    exclusions.push({
      code: 'temperature_profile_unsupported',
      message: `vehicle ${vehicle.id} has no ${needed} (${CARGO_INFO[needed].label}) hold for the order's temperature limits`,
    });
  }
  for (const refusal of driver.drivingTime.refusals)
    exclusions.push({ code: refusal.code, message: `driver ${driver.id}: ${refusal.message}`, until: refusal.until });
  return exclusions;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** How far a reading is outside the limits, in °C (0 inside them; a limit itself is inside). */
export function degreesOutside(temperatureC: number, limits: Pick<TemperatureLimits, 'min' | 'max'>): number {
  if (limits.max !== null && temperatureC > limits.max) return temperatureC - limits.max;
  if (limits.min !== null && temperatureC < limits.min) return limits.min - temperatureC;
  return 0;
}

export function scoreTerms(
  order: OrderFacts,
  vehicle: VehicleFacts,
  driver: DriverFacts,
  now: Date,
): { terms: ScoreTerms; distanceKm: number | null; readingUsed: boolean } {
  const distanceKm = vehicle.position && order.pickup ? haversineKm(vehicle.position.point, order.pickup) : null;
  const reading = vehicle.latestReading && now.getTime() - vehicle.latestReading.at.getTime() <= READING_MAX_AGE_MS ? vehicle.latestReading : null;
  return {
    distanceKm: distanceKm === null ? null : round(distanceKm, 1),
    readingUsed: reading !== null,
    terms: {
      distance: distanceKm === null ? 0 : 1 / (1 + distanceKm / DISTANCE_HALF_KM),
      capacity_fit: Math.min(1, order.weightKg / vehicle.capacityKg),
      reefer_readiness: reading === null ? 0.5 : 1 / (1 + degreesOutside(reading.temperatureC, order.limits.limits) / REEFER_HALF_C),
      fairness: 1 / (1 + driver.assignmentsToday),
    },
  };
}

/** The weighted mean of the terms, 0 to 100, rounded to hundredths (the plan's solver works in these hundredths). */
export function weightedScore(terms: ScoreTerms, weights: ScoreWeights): number {
  const total = weights.distance + weights.capacityFit + weights.reeferReadiness + weights.fairness;
  if (!(total > 0)) throw new RangeError('score weights must add up to more than 0');
  const sum =
    weights.distance * terms.distance +
    weights.capacityFit * terms.capacity_fit +
    weights.reeferReadiness * terms.reefer_readiness +
    weights.fairness * terms.fairness;
  return round((100 * sum) / total, 2);
}

export function evaluatePair(order: OrderFacts, vehicle: VehicleFacts, driver: DriverFacts, weights: ScoreWeights, now: Date): PairEvaluation {
  const exclusions = pairExclusions(order, vehicle, driver);
  if (exclusions.length > 0) return { ok: false, exclusions };
  const { terms, distanceKm, readingUsed } = scoreTerms(order, vehicle, driver, now);
  const score = weightedScore(terms, weights);
  return {
    ok: true,
    score,
    distanceKm,
    readingUsed,
    terms: {
      distance: round(terms.distance, 3),
      capacity_fit: round(terms.capacity_fit, 3),
      reefer_readiness: round(terms.reefer_readiness, 3),
      fairness: round(terms.fairness, 3),
    },
  };
}
