import { describe, expect, it } from 'vitest';
import { assignmentRefusals, type AssignmentFacts } from '../../domain/assignment.js';
import { parseCargoClass } from '../../domain/cargo.js';
import { DISPATCH_FLOW, checkTransition, orderStatusFor } from '../../domain/dispatch-status.js';
import { estimateRoute, haversineKm, locateAddress, sidoAliases } from '../../domain/geo.js';
import { seoulDay } from '../../domain/seoul-day.js';
import { districts } from '../../db/districts.js';

describe('cargo classes', () => {
  it('accepts Korean labels and codes', () => {
    expect(parseCargoClass('냉장')).toBe('CHILLED');
    expect(parseCargoClass('냉동')).toBe('FROZEN');
    expect(parseCargoClass('상온')).toBe('AMBIENT');
    expect(parseCargoClass('frozen')).toBe('FROZEN');
    expect(parseCargoClass('warm')).toBeUndefined();
  });
});

describe('dispatch status transitions', () => {
  it('allows every forward move, including skips', () => {
    for (let i = 0; i < DISPATCH_FLOW.length; i++) {
      for (let j = i + 1; j < DISPATCH_FLOW.length; j++) {
        expect(checkTransition(DISPATCH_FLOW[i]!, DISPATCH_FLOW[j]!).kind).toBe('change');
      }
    }
    expect(checkTransition('ASSIGNED', 'COMPLETED').kind).toBe('change');
  });

  it('refuses every backward move and any move out of a finished state', () => {
    for (let i = 0; i < DISPATCH_FLOW.length; i++) {
      for (let j = 0; j < i; j++) expect(checkTransition(DISPATCH_FLOW[i]!, DISPATCH_FLOW[j]!).kind).toBe('refused');
    }
    expect(checkTransition('CANCELLED', 'ACCEPTED').kind).toBe('refused');
    expect(checkTransition('FAILED', 'COMPLETED').kind).toBe('refused');
    expect(checkTransition('COMPLETED', 'FAILED').kind).toBe('refused');
  });

  it('treats the same status as no change and lets active dispatches exit', () => {
    expect(checkTransition('IN_TRANSIT', 'IN_TRANSIT').kind).toBe('same');
    expect(checkTransition('IN_TRANSIT', 'FAILED').kind).toBe('change');
    expect(checkTransition('ASSIGNED', 'CANCELLED').kind).toBe('change');
  });

  it('lets a delivered dispatch only complete: an exit would reopen a delivered order', () => {
    expect(checkTransition('DELIVERED', 'COMPLETED').kind).toBe('change');
    expect(checkTransition('DELIVERED', 'CANCELLED')).toMatchObject({ kind: 'refused', reason: expect.stringContaining('DELIVERED') });
    expect(checkTransition('DELIVERED', 'FAILED').kind).toBe('refused');
  });

  it('moves the order with its dispatch', () => {
    expect(orderStatusFor('ACCEPTED')).toBe('ASSIGNED');
    expect(orderStatusFor('PICKED_UP')).toBe('IN_TRANSIT');
    expect(orderStatusFor('COMPLETED')).toBe('COMPLETED');
    expect(orderStatusFor('CANCELLED')).toBe('PENDING');
    expect(orderStatusFor('FAILED')).toBe('PENDING');
  });
});

describe('assignment refusals', () => {
  const ok: AssignmentFacts = {
    order: { id: 1, status: 'PENDING', cargoType: 'FROZEN', weightKg: 100 },
    vehicle: { id: 1, active: true, capacityKg: 1000, cargoClasses: ['CHILLED', 'FROZEN'] },
    driver: { id: 1, active: true },
  };
  it('accepts a good assignment', () => expect(assignmentRefusals(ok)).toEqual([]));
  it.each([
    ['order_not_pending', { ...ok, order: { ...ok.order, status: 'ASSIGNED' as const } }],
    ['vehicle_inactive', { ...ok, vehicle: { ...ok.vehicle, active: false } }],
    ['driver_inactive', { ...ok, driver: { id: 1, active: false } }],
    ['vehicle_busy', { ...ok, vehicleBusyWith: 9 }],
    ['driver_busy', { ...ok, driverBusyWith: 9 }],
    ['capacity_exceeded', { ...ok, order: { ...ok.order, weightKg: 1000.5 } }],
    ['cargo_class_unsupported', { ...ok, vehicle: { ...ok.vehicle, cargoClasses: ['AMBIENT' as const] } }],
  ])('refuses with %s', (code, facts) => {
    expect(assignmentRefusals(facts).map((r) => r.code)).toEqual([code]);
  });
});

describe('geography', () => {
  it('measures Seoul to Busan at about 325 km', () => {
    expect(haversineKm({ lat: 37.5665, lng: 126.978 }, { lat: 35.1796, lng: 129.0756 })).toBeCloseTo(325, -1);
  });
  it('places districts, disambiguating 중구 by city', () => {
    expect(locateAddress('서울시 강남구 테헤란로 123', districts())).toEqual({ lat: 37.5172, lng: 127.0473 });
    expect(locateAddress('부산광역시 중구 중앙대로 1', districts())).toEqual({ lat: 35.1064, lng: 129.0324 });
    expect(locateAddress('대구 중구 동성로 1', districts())).toEqual({ lat: 35.8694, lng: 128.6062 });
    expect(locateAddress('Main Street 1', districts())).toBeUndefined();
  });
  it('falls back to the province centre and knows short province names', () => {
    expect(sidoAliases('충청북도')).toContain('충북');
    const busan = locateAddress('부산시 연제구 중앙대로 1001', districts());
    expect(busan!.lat).toBeGreaterThan(35);
    expect(busan!.lat).toBeLessThan(35.3);
  });
  it('prefers given coordinates over the address', () => {
    const route = estimateRoute({ address: 'x', at: { lat: 37, lng: 127 } }, { address: '부산시 해운대구', at: undefined }, districts());
    expect(route.pickup).toEqual({ lat: 37, lng: 127 });
    expect(route.distanceKm).toBeGreaterThan(200);
  });
});

describe('Korean day', () => {
  it('starts at midnight in Seoul', () => {
    const day = seoulDay(new Date('2026-11-27T15:30:00Z'));
    expect(day.date).toBe('2026-11-28');
    expect(day.start.toISOString()).toBe('2026-11-27T15:00:00.000Z');
    expect(day.end.getTime() - day.start.getTime()).toBe(86_400_000);
  });
});
