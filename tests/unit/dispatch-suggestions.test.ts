/**
 * The hard filters and score terms of dispatch suggestions (domain/dispatch-suggestions.ts): every
 * exclusion reason on its own and all together, the temperature profile's hold, and the value of
 * each term at known points.
 */
import { describe, expect, it } from 'vitest';
import { checkDrivingTime } from '../../domain/driving-time.js';
import {
  EXCLUSION_CODES,
  PLAN_REASON_CODES,
  evaluatePair,
  pairExclusions,
  scoreTerms,
  temperatureProfileClass,
  weightedScore,
  type DriverFacts,
  type OrderFacts,
  type VehicleFacts,
} from '../../domain/dispatch-suggestions.js';
import { haversineKm } from '../../domain/geo.js';
import { resolveOrderLimits } from '../../domain/temperature-profiles.js';

const NOW = new Date('2026-11-30T15:00:00+09:00');
const H = 3600_000;
const WEIGHTS = { distance: 0.5, capacityFit: 0.15, reeferReadiness: 0.2, fairness: 0.15 };
const GANGNAM = { lat: 37.5172, lng: 127.0473 };

const order = (o: Partial<OrderFacts> & { profile?: Parameters<typeof resolveOrderLimits>[0] } = {}): OrderFacts => ({
  id: 1,
  status: 'PENDING',
  cargoType: 'CHILLED',
  weightKg: 1000,
  limits: resolveOrderLimits(o.profile ?? { cargo_class: o.cargoType ?? 'CHILLED' }),
  pickup: GANGNAM,
  ...o,
});
const vehicle = (v: Partial<VehicleFacts> = {}): VehicleFacts => ({
  id: 7,
  active: true,
  capacityKg: 5000,
  cargoClasses: ['CHILLED', 'FROZEN'],
  position: { point: GANGNAM, source: 'gps', at: NOW },
  latestReading: null,
  ...v,
});
const driver = (d: Partial<DriverFacts> = {}): DriverFacts => ({
  id: 9,
  active: true,
  drivingTime: checkDrivingTime([], NOW),
  assignmentsToday: 0,
  ...d,
});
const codes = (o: OrderFacts, v: VehicleFacts, d: DriverFacts) => pairExclusions(o, v, d).map((e) => e.code);

describe('hard filters: each reason on its own', () => {
  it('passes a fit pair', () => {
    expect(codes(order(), vehicle(), driver())).toEqual([]);
  });
  it('vehicle_inactive', () => expect(codes(order(), vehicle({ active: false }), driver())).toEqual(['vehicle_inactive']));
  it('driver_inactive', () => expect(codes(order(), vehicle(), driver({ active: false }))).toEqual(['driver_inactive']));
  it('vehicle_busy', () => expect(codes(order(), vehicle({ busyWith: 41 }), driver())).toEqual(['vehicle_busy']));
  it('driver_busy', () => expect(codes(order(), vehicle(), driver({ busyWith: 42 }))).toEqual(['driver_busy']));
  it('capacity_exceeded, and a load equal to the capacity fits', () => {
    expect(codes(order({ weightKg: 5000.01 }), vehicle(), driver())).toEqual(['capacity_exceeded']);
    expect(codes(order({ weightKg: 5000 }), vehicle(), driver())).toEqual([]);
  });
  it('cargo_class_unsupported', () => expect(codes(order({ cargoType: 'AMBIENT' }), vehicle(), driver())).toEqual(['cargo_class_unsupported']));
  it('temperature_profile_unsupported: a pharmaceutical 2–8 °C load in a dry van that carries its ambient class', () => {
    const pharma = order({ cargoType: 'AMBIENT', profile: { cargo_class: 'AMBIENT', temperature_profile: 'PHARMA_2_8' } });
    expect(codes(pharma, vehicle({ cargoClasses: ['AMBIENT'] }), driver())).toEqual(['temperature_profile_unsupported']);
    expect(codes(pharma, vehicle({ cargoClasses: ['AMBIENT', 'CHILLED'] }), driver())).toEqual([]);
  });
  it('driving_break_required and daily_rest_required, with the time the driver is free again', () => {
    const tired = checkDrivingTime([{ start: NOW.getTime() - 4.5 * H, end: NOW.getTime() - 0.25 * H }], NOW);
    const exclusions = pairExclusions(order(), vehicle(), driver({ drivingTime: tired }));
    expect(exclusions.map((e) => e.code)).toEqual(['driving_break_required']);
    expect(exclusions[0]!.until).toEqual(new Date(NOW.getTime() - 0.25 * H + 0.5 * H));
    const lateNight = checkDrivingTime([{ start: NOW.getTime() - 24 * H, end: NOW.getTime() - 10 * H }], new Date(NOW.getTime()));
    expect(pairExclusions(order(), vehicle(), driver({ drivingTime: lateNight })).map((e) => e.code)).toEqual(['daily_rest_required']);
  });
  it('lists every reason at once, never only the first', () => {
    const tired = checkDrivingTime([{ start: NOW.getTime() - 5 * H, end: NOW.getTime() - 0.1 * H }], NOW);
    expect(
      codes(
        order({ weightKg: 9000, cargoType: 'AMBIENT' }),
        vehicle({ active: false, busyWith: 3, cargoClasses: ['FROZEN'] }),
        driver({ active: false, busyWith: 4, drivingTime: tired }),
      ),
    ).toEqual(['vehicle_inactive', 'driver_inactive', 'vehicle_busy', 'driver_busy', 'capacity_exceeded', 'cargo_class_unsupported', 'driving_break_required']);
  });
});

describe("the hold an order's temperature limits need", () => {
  const of = (fields: Parameters<typeof resolveOrderLimits>[0]) =>
    temperatureProfileClass({ cargoType: fields.cargo_class, limits: resolveOrderLimits(fields) });
  it('asks nothing beyond the cargo class for the class’s own profile or ambient', () => {
    expect(of({ cargo_class: 'CHILLED' })).toBeNull();
    expect(of({ cargo_class: 'FROZEN', temperature_profile: 'FROZEN' })).toBeNull();
    expect(of({ cargo_class: 'CHILLED', temperature_profile: 'AMBIENT' })).toBeNull();
  });
  it('asks a chilled hold for PHARMA_2_8, a frozen one for a FROZEN profile on another class', () => {
    expect(of({ cargo_class: 'AMBIENT', temperature_profile: 'PHARMA_2_8' })).toBe('CHILLED');
    expect(of({ cargo_class: 'CHILLED', temperature_profile: 'FROZEN' })).toBe('FROZEN');
  });
  it("reads an order's own limits: below 0 °C frozen, up to 10 °C chilled, narrower than ambient chilled, 0 °C being a limit", () => {
    expect(of({ cargo_class: 'CHILLED', temp_min_c: -25, temp_max_c: -20 })).toBe('FROZEN');
    expect(of({ cargo_class: 'AMBIENT', temp_min_c: null, temp_max_c: 0 })).toBe('CHILLED');
    expect(of({ cargo_class: 'AMBIENT', temp_min_c: 15, temp_max_c: 25 })).toBe('CHILLED');
    expect(of({ cargo_class: 'AMBIENT', temp_min_c: 0, temp_max_c: 40 })).toBeNull();
  });
});

describe('score terms', () => {
  it('distance: 1 on the spot, 0.5 at 25 km, 0 when the vehicle or the pickup is nowhere', () => {
    expect(scoreTerms(order(), vehicle(), driver(), NOW).terms.distance).toBe(1);
    // A point due north of the pickup, 25 km away on the great circle.
    const north = { lat: GANGNAM.lat + 25 / 111.195, lng: GANGNAM.lng };
    expect(haversineKm(GANGNAM, north)).toBeCloseTo(25, 2);
    const at25 = scoreTerms(order(), vehicle({ position: { point: north, source: 'base', at: null } }), driver(), NOW);
    expect(at25.terms.distance).toBeCloseTo(0.5, 3);
    expect(at25.distanceKm).toBe(25);
    expect(scoreTerms(order(), vehicle({ position: null }), driver(), NOW)).toMatchObject({ distanceKm: null, terms: { distance: 0 } });
    expect(scoreTerms(order({ pickup: null }), vehicle(), driver(), NOW)).toMatchObject({ distanceKm: null, terms: { distance: 0 } });
  });
  it('capacity fit: weight over capacity', () => {
    expect(scoreTerms(order({ weightKg: 2500 }), vehicle({ capacityKg: 5000 }), driver(), NOW).terms.capacity_fit).toBe(0.5);
  });
  it('reefer readiness: 1 in range (a limit included), 0.5 at 5 °C off, 0.5 without a recent reading', () => {
    const reading = (temperatureC: number, ageMs = 60_000) => vehicle({ latestReading: { temperatureC, at: new Date(NOW.getTime() - ageMs) } });
    const chilled = order();
    expect(scoreTerms(chilled, reading(10), driver(), NOW).terms.reefer_readiness).toBe(1);
    expect(scoreTerms(chilled, reading(15), driver(), NOW).terms.reefer_readiness).toBe(0.5);
    expect(scoreTerms(chilled, reading(-5), driver(), NOW).terms.reefer_readiness).toBe(0.5);
    expect(scoreTerms(chilled, vehicle(), driver(), NOW).terms.reefer_readiness).toBe(0.5);
    // Older than two hours: not the present.
    expect(scoreTerms(chilled, reading(4, 2 * H + 1000), driver(), NOW)).toMatchObject({ readingUsed: false, terms: { reefer_readiness: 0.5 } });
  });
  it('fairness: 1 / (1 + assignments today)', () => {
    expect(scoreTerms(order(), vehicle(), driver({ assignmentsToday: 3 }), NOW).terms.fairness).toBe(0.25);
  });
  it('the score is the weighted mean × 100, rounded to hundredths; weights are relative', () => {
    const terms = { distance: 0.5, capacity_fit: 0.2, reefer_readiness: 1, fairness: 1 / 3 };
    expect(weightedScore(terms, WEIGHTS)).toBe(Math.round(100 * (0.25 + 0.03 + 0.2 + 0.05) * 100) / 100);
    expect(weightedScore(terms, { distance: 5, capacityFit: 1.5, reeferReadiness: 2, fairness: 1.5 })).toBe(weightedScore(terms, WEIGHTS));
    expect(weightedScore(terms, { distance: 1, capacityFit: 0, reeferReadiness: 0, fairness: 0 })).toBe(50);
    expect(() => weightedScore(terms, { distance: 0, capacityFit: 0, reeferReadiness: 0, fairness: 0 })).toThrow(RangeError);
  });
  it('a nearer, pre-cooled truck outscores a far, warm one', () => {
    const near = evaluatePair(order(), vehicle({ latestReading: { temperatureC: 4, at: NOW } }), driver(), WEIGHTS, NOW);
    const far = evaluatePair(
      order(),
      vehicle({ position: { point: { lat: 35.1631, lng: 129.1635 }, source: 'gps', at: NOW }, latestReading: { temperatureC: 20, at: NOW } }),
      driver(),
      WEIGHTS,
      NOW,
    );
    expect(near.ok && far.ok && near.score > far.score).toBe(true);
  });
});

describe('dashboard labels', () => {
  it('labels every exclusion and plan reason in Korean and English (the page builds refusal.<code> keys)', async () => {
    // By a computed name, as tests/unit/dashboard-i18n.test.ts does: i18n.ts uses DOM types.
    const I18N = '../../dashboard/web/src/i18n.js';
    const { labelTables } = (await import(/* @vite-ignore */ I18N)) as { labelTables: Record<'ko' | 'en', Record<string, string>> };
    const keys = [...new Set([...EXCLUSION_CODES, ...PLAN_REASON_CODES])].map((code) => `refusal.${code}`);
    expect(keys.filter((key) => !labelTables.ko[key] || !labelTables.en[key])).toEqual([]);
  });
});
