/**
 * Temperature profiles of a cold-chain carrier and the limits an order is held to
 * (issue 15; DESIGN.md "Cold-chain telemetry and excursions", GET /temperature-profiles).
 *
 * The design's row: CHILLED 0..10, FROZEN ≤ −18 (critical above −15), AMBIENT 1..35,
 * PHARMA_2_8 2..8 (critical above 15, mean kinetic temperature ≤ 8 over 24 h).
 *
 * Decisions:
 * - `min`/`max` are the warning limits (the Korean Food Code storage limits: 냉장 0 to 10 °C,
 *   냉동 −18 °C or colder, 실온 1 to 35 °C). A reading equal to a limit is in range: out of
 *   range means strictly below `min` or strictly above `max`.
 * - `criticalMin`/`criticalMax` exist only where the design gives one (FROZEN above −15 °C,
 *   PHARMA_2_8 above 15 °C, the USP <659> controlled-cold ceiling). Everywhere else they are
 *   null: there is no critical limit, and an excursion there is a WARNING however far it goes.
 *   "Above −15" is strict: −15 °C itself is not critical.
 * - `mktMax`/`mktWindowS` only for PHARMA_2_8 (MKT ≤ 8 °C over 24 h, USP <1160>/<659>).
 * - An order's limits: its own limits (`temp_min_c`, `temp_max_c`) when either is set, else the
 *   profile it names (`temperature_profile`), else its cargo class's profile. Own limits are
 *   warning limits only (no critical limit, no MKT): the design gives the order only a min and a max.
 *   Either own limit may be null, meaning unbounded on that side.
 * - A 0 °C limit is a limit: every check below is `!= null`, never truthiness (Fleetbase's bug).
 */
import type { CargoClass } from './cargo.js';

export const TEMPERATURE_PROFILE_CODES = ['CHILLED', 'FROZEN', 'AMBIENT', 'PHARMA_2_8'] as const;
export type TemperatureProfileCode = (typeof TEMPERATURE_PROFILE_CODES)[number];

/** Limits in °C; null means "no limit on that side". */
export interface TemperatureLimits {
  /** Warning limit: a reading strictly below it is out of range (LOW). */
  min: number | null;
  /** Warning limit: a reading strictly above it is out of range (HIGH). */
  max: number | null;
  /** A reading strictly below it opens a CRITICAL excursion at once. */
  criticalMin: number | null;
  /** A reading strictly above it opens a CRITICAL excursion at once. */
  criticalMax: number | null;
  /** Highest acceptable mean kinetic temperature (PHARMA_2_8 only). */
  mktMax: number | null;
  /** The window the MKT limit applies to, in seconds (PHARMA_2_8: 24 h). */
  mktWindowS: number | null;
}

export interface TemperatureProfile {
  code: TemperatureProfileCode;
  /** Korean label first, as the clients show it. */
  label: string;
  labelEn: string;
  /** Human-readable range, Korean-first clients show it beside the label. */
  range: string;
  limits: TemperatureLimits;
}

const NO_CRITICAL = { criticalMin: null, criticalMax: null, mktMax: null, mktWindowS: null } as const;

export const TEMPERATURE_PROFILES: Readonly<Record<TemperatureProfileCode, TemperatureProfile>> = {
  CHILLED: { code: 'CHILLED', label: '냉장', labelEn: 'Chilled', range: '0 to 10 °C', limits: { min: 0, max: 10, ...NO_CRITICAL } },
  FROZEN: {
    code: 'FROZEN',
    label: '냉동',
    labelEn: 'Frozen',
    range: '−18 °C or colder (critical above −15 °C)',
    limits: { min: null, max: -18, criticalMin: null, criticalMax: -15, mktMax: null, mktWindowS: null },
  },
  AMBIENT: { code: 'AMBIENT', label: '상온', labelEn: 'Ambient', range: '1 to 35 °C', limits: { min: 1, max: 35, ...NO_CRITICAL } },
  PHARMA_2_8: {
    code: 'PHARMA_2_8',
    label: '의약품 2–8 °C',
    labelEn: 'Pharmaceutical 2–8 °C',
    range: '2 to 8 °C (critical above 15 °C; mean kinetic temperature ≤ 8 °C over 24 h)',
    limits: { min: 2, max: 8, criticalMin: null, criticalMax: 15, mktMax: 8, mktWindowS: 24 * 3600 },
  },
};

/** The profile an order of each cargo class gets when it names none. */
export const PROFILE_FOR_CARGO_CLASS: Readonly<Record<CargoClass, TemperatureProfileCode>> = {
  CHILLED: 'CHILLED',
  FROZEN: 'FROZEN',
  AMBIENT: 'AMBIENT',
};

const BY_LABEL = new Map<string, TemperatureProfileCode>(TEMPERATURE_PROFILE_CODES.map((code) => [TEMPERATURE_PROFILES[code].label, code]));

/** Accepts a code (any case) or its Korean label; undefined for anything else. */
export function parseTemperatureProfile(input: string): TemperatureProfileCode | undefined {
  const trimmed = input.trim();
  const upper = trimmed.toUpperCase();
  if ((TEMPERATURE_PROFILE_CODES as readonly string[]).includes(upper)) return upper as TemperatureProfileCode;
  return BY_LABEL.get(trimmed);
}

/** The temperature fields of an order, as stored (snake_case like the API). */
export interface OrderTemperatureFields {
  cargo_class: CargoClass;
  temperature_profile?: TemperatureProfileCode | null;
  temp_min_c?: number | null;
  temp_max_c?: number | null;
}

export type LimitsSource = 'ORDER' | 'PROFILE' | 'CARGO_CLASS';

export interface ResolvedLimits {
  /** Where the limits came from: the order's own limits, the profile it names, or its cargo class. */
  source: LimitsSource;
  /** The profile in force; null when the order's own limits apply. */
  profile: TemperatureProfileCode | null;
  limits: TemperatureLimits;
}

/**
 * Why an order's own limits are unusable, or null when they are fine. Either may be null
 * (unbounded on that side); 0 is a value like any other.
 */
export function customLimitsProblem(min: number | null | undefined, max: number | null | undefined): string | null {
  if (min != null && !Number.isFinite(min)) return 'temp_min_c must be a finite number';
  if (max != null && !Number.isFinite(max)) return 'temp_max_c must be a finite number';
  if (min != null && max != null && min > max) return 'temp_min_c must not be above temp_max_c';
  return null;
}

/** An order row's temperature fields as stored: the cargo class is its `cargo_type` column. */
export interface OrderLimitColumns {
  cargo_type: CargoClass;
  temperature_profile?: TemperatureProfileCode | null;
  temp_min_c?: number | null;
  temp_max_c?: number | null;
}

/** resolveOrderLimits for an order row (or any row carrying its temperature columns). */
export function limitsOfOrder(row: OrderLimitColumns): ResolvedLimits {
  return resolveOrderLimits({
    cargo_class: row.cargo_type,
    temperature_profile: row.temperature_profile,
    temp_min_c: row.temp_min_c,
    temp_max_c: row.temp_max_c,
  });
}

/** The limits an order is held to: its own, else its chosen profile, else its cargo class's profile. */
export function resolveOrderLimits(order: OrderTemperatureFields): ResolvedLimits {
  const min = order.temp_min_c ?? null;
  const max = order.temp_max_c ?? null;
  if (min !== null || max !== null) {
    const problem = customLimitsProblem(min, max);
    if (problem !== null) throw new RangeError(problem);
    return { source: 'ORDER', profile: null, limits: { min, max, criticalMin: null, criticalMax: null, mktMax: null, mktWindowS: null } };
  }
  if (order.temperature_profile != null) {
    return { source: 'PROFILE', profile: order.temperature_profile, limits: { ...TEMPERATURE_PROFILES[order.temperature_profile].limits } };
  }
  const code = PROFILE_FOR_CARGO_CLASS[order.cargo_class];
  return { source: 'CARGO_CLASS', profile: code, limits: { ...TEMPERATURE_PROFILES[code].limits } };
}

export type ReadingSide = 'IN_RANGE' | 'HIGH' | 'LOW';

export interface ReadingClass {
  side: ReadingSide;
  critical: boolean;
}

type SideLimits = Pick<TemperatureLimits, 'min' | 'max' | 'criticalMin' | 'criticalMax'>;

/** Above the side's limit (warning or critical); a reading on a limit is in range. */
export function isHigh(temperatureC: number, limits: SideLimits): boolean {
  return (limits.max != null && temperatureC > limits.max) || (limits.criticalMax != null && temperatureC > limits.criticalMax);
}

export function isLow(temperatureC: number, limits: SideLimits): boolean {
  return (limits.min != null && temperatureC < limits.min) || (limits.criticalMin != null && temperatureC < limits.criticalMin);
}

export function isCriticalHigh(temperatureC: number, limits: SideLimits): boolean {
  return limits.criticalMax != null && temperatureC > limits.criticalMax;
}

export function isCriticalLow(temperatureC: number, limits: SideLimits): boolean {
  return limits.criticalMin != null && temperatureC < limits.criticalMin;
}

/** One reading against the limits (for the dashboard's "latest temperature against its limits"). */
export function classifyReading(temperatureC: number, limits: SideLimits): ReadingClass {
  if (isHigh(temperatureC, limits)) return { side: 'HIGH', critical: isCriticalHigh(temperatureC, limits) };
  if (isLow(temperatureC, limits)) return { side: 'LOW', critical: isCriticalLow(temperatureC, limits) };
  return { side: 'IN_RANGE', critical: false };
}
