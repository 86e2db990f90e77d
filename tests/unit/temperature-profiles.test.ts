import { describe, expect, it } from 'vitest';
import { CARGO_CLASSES } from '../../domain/cargo.js';
import {
  PROFILE_FOR_CARGO_CLASS,
  TEMPERATURE_PROFILES,
  TEMPERATURE_PROFILE_CODES,
  classifyReading,
  customLimitsProblem,
  parseTemperatureProfile,
  resolveOrderLimits,
} from '../../domain/temperature-profiles.js';

describe('temperature profiles', () => {
  it('holds the limits DESIGN.md gives for GET /temperature-profiles', () => {
    expect(TEMPERATURE_PROFILES.CHILLED.limits).toEqual({ min: 0, max: 10, criticalMin: null, criticalMax: null, mktMax: null, mktWindowS: null });
    expect(TEMPERATURE_PROFILES.FROZEN.limits).toEqual({ min: null, max: -18, criticalMin: null, criticalMax: -15, mktMax: null, mktWindowS: null });
    expect(TEMPERATURE_PROFILES.AMBIENT.limits).toEqual({ min: 1, max: 35, criticalMin: null, criticalMax: null, mktMax: null, mktWindowS: null });
    expect(TEMPERATURE_PROFILES.PHARMA_2_8.limits).toEqual({ min: 2, max: 8, criticalMin: null, criticalMax: 15, mktMax: 8, mktWindowS: 86_400 });
  });

  it('labels each profile in Korean first, then English', () => {
    expect(TEMPERATURE_PROFILE_CODES.map((c) => TEMPERATURE_PROFILES[c].label)).toEqual(['냉장', '냉동', '상온', '의약품 2–8 °C']);
    for (const code of TEMPERATURE_PROFILE_CODES) {
      expect(TEMPERATURE_PROFILES[code].code).toBe(code);
      expect(TEMPERATURE_PROFILES[code].labelEn).toMatch(/^[A-Z]/);
    }
  });

  it('maps every cargo class to a profile of the same name', () => {
    for (const cargo of CARGO_CLASSES) expect(PROFILE_FOR_CARGO_CLASS[cargo]).toBe(cargo);
  });

  it('parses codes in any case and Korean labels, and nothing else', () => {
    expect(parseTemperatureProfile('pharma_2_8')).toBe('PHARMA_2_8');
    expect(parseTemperatureProfile(' 냉동 ')).toBe('FROZEN');
    expect(parseTemperatureProfile('의약품 2–8 °C')).toBe('PHARMA_2_8');
    expect(parseTemperatureProfile('warm')).toBeUndefined();
  });
});

describe('classifying a reading', () => {
  const chilled = TEMPERATURE_PROFILES.CHILLED.limits;
  const frozen = TEMPERATURE_PROFILES.FROZEN.limits;
  const pharma = TEMPERATURE_PROFILES.PHARMA_2_8.limits;

  it('treats a reading on a limit as in range, and just past it as out', () => {
    expect(classifyReading(10, chilled)).toEqual({ side: 'IN_RANGE', critical: false });
    expect(classifyReading(10.01, chilled)).toEqual({ side: 'HIGH', critical: false });
    expect(classifyReading(-18, frozen)).toEqual({ side: 'IN_RANGE', critical: false });
    expect(classifyReading(-17.9, frozen)).toEqual({ side: 'HIGH', critical: false });
  });

  it('treats a 0 °C lower limit as a limit (a truthiness check would say -0.5 °C is fine)', () => {
    expect(classifyReading(-0.5, chilled)).toEqual({ side: 'LOW', critical: false });
    expect(classifyReading(0, chilled)).toEqual({ side: 'IN_RANGE', critical: false });
  });

  it('has no lower limit for FROZEN: any cold is fine', () => {
    expect(classifyReading(-60, frozen).side).toBe('IN_RANGE');
  });

  it('is critical only strictly beyond the critical limit', () => {
    expect(classifyReading(-15, frozen)).toEqual({ side: 'HIGH', critical: false });
    expect(classifyReading(-14.9, frozen)).toEqual({ side: 'HIGH', critical: true });
    expect(classifyReading(15, pharma)).toEqual({ side: 'HIGH', critical: false });
    expect(classifyReading(15.1, pharma)).toEqual({ side: 'HIGH', critical: true });
  });

  it('never calls a CHILLED or AMBIENT reading critical: they have no critical limit', () => {
    expect(classifyReading(59, chilled)).toEqual({ side: 'HIGH', critical: false });
    expect(classifyReading(-59, TEMPERATURE_PROFILES.AMBIENT.limits)).toEqual({ side: 'LOW', critical: false });
  });

  it('counts a critical limit alone (no warning limit on that side) as out of range', () => {
    expect(classifyReading(-25, { min: null, max: null, criticalMin: -20, criticalMax: null })).toEqual({ side: 'LOW', critical: true });
  });
});

describe("an order's limits", () => {
  it('come from the cargo class by default', () => {
    expect(resolveOrderLimits({ cargo_class: 'FROZEN' })).toEqual({ source: 'CARGO_CLASS', profile: 'FROZEN', limits: TEMPERATURE_PROFILES.FROZEN.limits });
    expect(resolveOrderLimits({ cargo_class: 'CHILLED', temperature_profile: null, temp_min_c: null, temp_max_c: null }).profile).toBe('CHILLED');
  });

  it('come from the chosen profile over the cargo class', () => {
    expect(resolveOrderLimits({ cargo_class: 'CHILLED', temperature_profile: 'PHARMA_2_8' })).toEqual({
      source: 'PROFILE',
      profile: 'PHARMA_2_8',
      limits: TEMPERATURE_PROFILES.PHARMA_2_8.limits,
    });
  });

  it("come from the order's own limits over any profile, without critical or MKT limits", () => {
    expect(resolveOrderLimits({ cargo_class: 'CHILLED', temperature_profile: 'PHARMA_2_8', temp_min_c: -2, temp_max_c: 5 })).toEqual({
      source: 'ORDER',
      profile: null,
      limits: { min: -2, max: 5, criticalMin: null, criticalMax: null, mktMax: null, mktWindowS: null },
    });
  });

  it('take a 0 °C own limit as a limit, not as "unset" (Fleetbase treats 0 as unset)', () => {
    // With truthiness, temp_max_c: 0 would look unset and the FROZEN profile (max −18) would apply.
    const both = resolveOrderLimits({ cargo_class: 'FROZEN', temp_min_c: 0, temp_max_c: 0 });
    expect(both).toEqual({ source: 'ORDER', profile: null, limits: { min: 0, max: 0, criticalMin: null, criticalMax: null, mktMax: null, mktWindowS: null } });
    const maxOnly = resolveOrderLimits({ cargo_class: 'CHILLED', temp_min_c: null, temp_max_c: 0 });
    expect(maxOnly.source).toBe('ORDER');
    expect(maxOnly.limits.max).toBe(0);
    expect(classifyReading(0.5, maxOnly.limits).side).toBe('HIGH');
  });

  it('leave a side unbounded when only one own limit is given', () => {
    const minOnly = resolveOrderLimits({ cargo_class: 'AMBIENT', temp_min_c: 5 });
    expect(minOnly.limits).toMatchObject({ min: 5, max: null });
    expect(classifyReading(1000, minOnly.limits).side).toBe('IN_RANGE');
    expect(classifyReading(4.9, minOnly.limits).side).toBe('LOW');
  });

  it('refuse own limits with the minimum above the maximum, or not finite', () => {
    expect(() => resolveOrderLimits({ cargo_class: 'CHILLED', temp_min_c: 5, temp_max_c: 0 })).toThrow(RangeError);
    expect(customLimitsProblem(5, 0)).toMatch(/temp_min_c/);
    expect(customLimitsProblem(0, 0)).toBeNull();
    expect(customLimitsProblem(null, 0)).toBeNull();
    expect(customLimitsProblem(Number.NaN, null)).toMatch(/temp_min_c/);
    expect(customLimitsProblem(null, Number.POSITIVE_INFINITY)).toMatch(/temp_max_c/);
  });

  it('are a copy: changing them does not change the profile table', () => {
    const resolved = resolveOrderLimits({ cargo_class: 'CHILLED' });
    resolved.limits.max = 99;
    expect(TEMPERATURE_PROFILES.CHILLED.limits.max).toBe(10);
  });
});
