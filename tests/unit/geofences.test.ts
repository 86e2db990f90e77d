/** Geofence evaluation as a pure function (issue 16): enter, leave, hysteresis, jitter, bad fixes, out-of-order fixes, suggestions. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GEOFENCE_DEFAULTS, evaluateGeofences, suggestedStatus, type Fix, type GeofenceCentre, type GeofenceInput } from '../../domain/geofences.js';
import { DISPATCH_STATUSES } from '../../domain/dispatch-status.js';

const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000);
/** Metres per degree of latitude on the sphere domain/geo.ts uses (R = 6371.0088 km). */
const M_PER_DEG = (6371008.8 * Math.PI) / 180;

const PICKUP: GeofenceCentre = { site: 'PICKUP', lat: 37.5, lng: 127.0 };
const DROPOFF: GeofenceCentre = { site: 'DROPOFF', lat: 37.6, lng: 127.0 };

/** A fix `m` metres from the site (north of it by default; east with bearing 90), at second `s`. */
function fix(s: number, m: number, opts: { site?: GeofenceCentre; bearing?: number; accuracyM?: number | null } = {}): Fix {
  const site = opts.site ?? PICKUP;
  const rad = ((opts.bearing ?? 0) * Math.PI) / 180;
  return {
    recordedAt: at(s),
    lat: site.lat + (m * Math.cos(rad)) / M_PER_DEG,
    lng: site.lng + (m * Math.sin(rad)) / (M_PER_DEG * Math.cos((site.lat * Math.PI) / 180)),
    accuracyM: opts.accuracyM,
  };
}

/** Fixes every `stepS` seconds from `startS`, at the given distances from the pickup. */
const track = (startS: number, stepS: number, distances: readonly number[]) => distances.map((m, i) => fix(startS + i * stepS, m));

const evaluate = (fixes: Fix[], extra: Partial<GeofenceInput> = {}) =>
  evaluateGeofences({ sites: [PICKUP], fixes, ...extra }).map((e) => ({ site: e.site, kind: e.kind, at: e.at.toISOString() }));

const event = (kind: 'ARRIVED' | 'DEPARTED', s: number, site: 'PICKUP' | 'DROPOFF' = 'PICKUP') => ({ site, kind, at: at(s).toISOString() });

describe('GEOFENCE_DEFAULTS', () => {
  it("are the design's: enter 150 m, leave 200 m, two fixes or 30 s, accuracy 100 m, 200 km/h", () => {
    expect(GEOFENCE_DEFAULTS).toMatchObject({ enterM: 150, leaveM: 200, confirmFixes: 2, confirmS: 30, maxAccuracyM: 100, maxSpeedKmh: 200 });
  });
});

describe('evaluateGeofences: enter and leave', () => {
  it('an approach records one arrival, dated at the first fix inside 150 m', () => {
    // 10 s apart at 30 → 10 km/h: plausible. 160 m is outside the enter radius, 140 m inside.
    expect(evaluate(track(0, 10, [400, 300, 200, 160, 140, 100, 50, 20, 20]))).toEqual([event('ARRIVED', 40)]);
  });

  it('a lone fix inside never arrives: the second consecutive fix inside confirms', () => {
    expect(evaluate(track(0, 10, [400, 300, 140, 300, 400]))).toEqual([]);
    expect(evaluate(track(0, 10, [400, 300, 140, 145]))).toEqual([event('ARRIVED', 20)]);
  });

  it('the radii are sharp: 149.99 m is inside, 150.01 m is not; 199.99 m is not beyond the leave radius, 200.01 m is', () => {
    expect(evaluate(track(0, 10, [149.99, 149.99]))).toEqual([event('ARRIVED', 0)]);
    expect(evaluate(track(0, 10, [150.01, 150.01]))).toEqual([]);
    expect(evaluate(track(0, 10, [100, 100, 199.99, 199.99, 199.99]))).toEqual([event('ARRIVED', 0)]);
    expect(evaluate(track(0, 10, [100, 100, 200.01, 200.01]))).toEqual([event('ARRIVED', 0), event('DEPARTED', 20)]);
  });

  it('leaving records one departure, dated at the first fix beyond 200 m', () => {
    expect(evaluate(track(0, 10, [100, 50, 50, 120, 180, 220, 300, 500]))).toEqual([event('ARRIVED', 0), event('DEPARTED', 50)]);
  });

  it('arrive, leave, come back: the events alternate and each is recorded once', () => {
    const fixes = track(0, 10, [100, 100, 400, 600, 600, 300, 100, 90, 500, 500]);
    expect(evaluate(fixes)).toEqual([event('ARRIVED', 0), event('DEPARTED', 20), event('ARRIVED', 60), event('DEPARTED', 80)]);
  });

  it('the pickup and the drop-off are evaluated on their own', () => {
    const fixes = [fix(0, 50), fix(10, 50), ...[0, 1, 2].map((i) => fix(4000 + i * 10, 30, { site: DROPOFF }))];
    expect(evaluateGeofences({ sites: [PICKUP, DROPOFF], fixes }).map((e) => [e.site, e.kind, e.at.toISOString()])).toEqual([
      ['PICKUP', 'ARRIVED', at(0).toISOString()],
      ['PICKUP', 'DEPARTED', at(4000).toISOString()],
      ['DROPOFF', 'ARRIVED', at(4000).toISOString()],
    ]);
  });

  it('starting inside (the stored state before a window), the first fixes outside depart', () => {
    expect(evaluate(track(0, 10, [300, 300]), { initial: { PICKUP: true } })).toEqual([event('DEPARTED', 0)]);
    expect(evaluate(track(0, 10, [100, 100]), { initial: { PICKUP: true } })).toEqual([]);
  });
});

describe('evaluateGeofences: hysteresis and jitter', () => {
  it('once inside, fixes wandering between 150 and 200 m never depart', () => {
    expect(evaluate(track(0, 10, [100, 100, 160, 190, 170, 199, 180, 140, 195, 200]))).toEqual([event('ARRIVED', 0)]);
  });

  it('outside, fixes jittering across the 150 m line one at a time never arrive', () => {
    expect(evaluate(track(0, 10, [160, 145, 170, 140, 180, 149, 155, 130, 165]))).toEqual([]);
  });

  it('inside, a single fix beyond 200 m does not depart; the run restarts after it', () => {
    expect(evaluate(track(0, 10, [100, 100, 250, 120, 260, 190, 270, 100]))).toEqual([event('ARRIVED', 0)]);
  });

  it('a fix in the band between the radii interrupts a run: one fix either side does not confirm', () => {
    // Arrival runs: 140 | 170 | 140 (interrupted by the band) and then two inside at 60 and 70 s.
    expect(evaluate(track(0, 10, [140, 170, 140, 175, 300, 130, 120]))).toEqual([event('ARRIVED', 50)]);
  });

  it('"or 30 s inside": with three fixes required, two fixes 30 s apart still confirm; 29 s apart do not', () => {
    const settings = { confirmFixes: 3 };
    expect(evaluate([fix(0, 100), fix(30, 100)], { settings })).toEqual([event('ARRIVED', 0)]);
    expect(evaluate([fix(0, 100), fix(29, 100)], { settings })).toEqual([]);
    expect(evaluate([fix(0, 100), fix(5, 100), fix(10, 100)], { settings })).toEqual([event('ARRIVED', 0)]);
  });
});

describe('evaluateGeofences: poor accuracy and impossible speed', () => {
  it('fixes with accuracy worse than 100 m are ignored; 100 m and unreported are used', () => {
    const at100 = (s: number, accuracyM: number | null) => fix(s, 50, { accuracyM });
    expect(evaluate([at100(0, 101), at100(10, 150), at100(20, 500)])).toEqual([]);
    expect(evaluate([at100(0, 100), at100(10, null)])).toEqual([event('ARRIVED', 0)]);
    // A poor fix between two good ones does not interrupt the run either: it is not there.
    expect(evaluate([at100(0, 10), fix(10, 5000, { accuracyM: 900 }), at100(20, 10)])).toEqual([event('ARRIVED', 0)]);
  });

  it('a jump to the site and back (multipath) is ignored, even two fixes long', () => {
    // Driving 5 km away; two fixes claim the pickup 1 s later: 5 km in a second.
    const fixes = [fix(0, 5000), fix(10, 5050), fix(11, 50), fix(12, 50), fix(20, 5100), fix(30, 5150)];
    expect(evaluate(fixes)).toEqual([]);
  });

  it('fixes a few metres apart a fraction of a second apart are GPS noise, not speed', () => {
    const fixes = [fix(0, 100), { ...fix(0.2, 130), recordedAt: T0 + 200 }];
    expect(evaluate(fixes)).toEqual([event('ARRIVED', 0)]);
  });

  it('when the first fix was the wild one, three consistent fixes re-anchor the track', () => {
    // A wild first fix 50 km away, then the truck really at the pickup: the track follows the truck.
    const fixes = [fix(0, 50_000), fix(10, 60), fix(20, 50), fix(30, 40), fix(40, 40)];
    expect(evaluate(fixes)).toEqual([event('ARRIVED', 10)]);
  });

  it('a real long drive between fixes far apart in time is possible (an offline phone)', () => {
    // 100 km in an hour: 100 km/h.
    expect(evaluate([fix(0, 100_000), fix(3600, 50), fix(3610, 40)])).toEqual([event('ARRIVED', 3600)]);
  });
});

describe('evaluateGeofences: out-of-order and duplicated fixes', () => {
  const approachAndLeave = track(0, 5, [900, 700, 500, 300, 140, 100, 60, 60, 80, 160, 190, 230, 400, 600, 800]);
  const expected = [event('ARRIVED', 20), event('DEPARTED', 55)];

  it('reversed, shuffled or duplicated fixes give the events of the sorted timeline', () => {
    expect(evaluate(approachAndLeave)).toEqual(expected);
    expect(evaluate([...approachAndLeave].reverse())).toEqual(expected);
    expect(evaluate([...approachAndLeave, ...approachAndLeave.slice(3, 9)])).toEqual(expected);
  });

  it('two fixes at the same instant: the more accurate is kept, whatever arrives first', () => {
    const good = fix(10, 50, { accuracyM: 5 });
    const bad = fix(10, 400, { accuracyM: 60 });
    const base = [fix(0, 50, { accuracyM: 5 })];
    expect(evaluate([...base, good, bad])).toEqual([event('ARRIVED', 0)]);
    expect(evaluate([...base, bad, good])).toEqual([event('ARRIVED', 0)]);
  });

  /** A random drive around the pickup: steps of 1-30 s, distances 0-600 m, some inaccurate fixes. */
  const drive = fc.array(
    fc.record({
      dt: fc.integer({ min: 1, max: 30 }),
      m: fc.integer({ min: 0, max: 600 }),
      bearing: fc.integer({ min: 0, max: 359 }),
      accuracyM: fc.constantFrom(null, 5, 30, 100, 150),
    }),
    { minLength: 0, maxLength: 60 },
  );
  const toFixes = (steps: { dt: number; m: number; bearing: number; accuracyM: number | null }[]) => {
    let s = 0;
    return steps.map((step) => fix((s += step.dt), step.m, { bearing: step.bearing, accuracyM: step.accuracyM }));
  };

  it('property: any permutation of the fixes gives the same events', () => {
    fc.assert(
      fc.property(
        drive.chain((steps) =>
          fc.tuple(fc.constant(toFixes(steps)), fc.shuffledSubarray(toFixes(steps), { minLength: steps.length, maxLength: steps.length })),
        ),
        ([sorted, shuffledFixes]) => {
          expect(evaluateGeofences({ sites: [PICKUP, DROPOFF], fixes: shuffledFixes })).toEqual(evaluateGeofences({ sites: [PICKUP, DROPOFF], fixes: sorted }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: events alternate ARRIVED/DEPARTED from ARRIVED, arrivals inside 150 m, departures beyond 200 m, in time order', () => {
    fc.assert(
      fc.property(drive, (steps) => {
        const events = evaluateGeofences({ sites: [PICKUP], fixes: toFixes(steps) });
        events.forEach((e, i) => {
          expect(e.kind).toBe(i % 2 === 0 ? 'ARRIVED' : 'DEPARTED');
          if (e.kind === 'ARRIVED') expect(e.distanceM).toBeLessThanOrEqual(150 + 1e-6);
          else expect(e.distanceM).toBeGreaterThan(200 - 1e-6);
          if (i > 0) expect(e.at.getTime()).toBeGreaterThan(events[i - 1]!.at.getTime());
        });
      }),
      { numRuns: 300 },
    );
  });

  it("property: the worker's windowed evaluation (stored events, then the fixes from the 10th before a new batch's earliest) equals a full evaluation", () => {
    const PRIOR_FIXES = 10;
    // A plausible drive (at most 18 km/h between fixes, no inaccurate fix) split into
    // fixes already stored and a new batch, possibly late and interleaved with them.
    const walk = fc.array(fc.record({ dt: fc.integer({ min: 1, max: 120 }), step: fc.integer({ min: -5, max: 5 }), isNew: fc.boolean() }), {
      minLength: 1,
      maxLength: 80,
    });
    fc.assert(
      fc.property(walk, fc.integer({ min: 0, max: 400 }), (steps, start) => {
        let s = 0;
        let m = start;
        const fixes = steps.map((st) => {
          s += st.dt;
          m = Math.min(600, Math.max(0, m + st.step * st.dt));
          return { f: fix(s, m), isNew: st.isNew };
        });
        const stored = fixes.filter((x) => !x.isNew).map((x) => x.f);
        const batch = fixes.filter((x) => x.isNew).map((x) => x.f);
        if (batch.length === 0) return;
        const storedEvents = evaluateGeofences({ sites: [PICKUP], fixes: stored });
        const earliest = Math.min(...batch.map((f) => (f.recordedAt as Date).getTime()));
        const prior = stored.map((f) => (f.recordedAt as Date).getTime()).filter((t) => t < earliest);
        const from = prior.length >= PRIOR_FIXES ? prior[prior.length - PRIOR_FIXES]! : -Infinity;
        const before = storedEvents.filter((e) => e.at.getTime() < from);
        const initial = before.length > 0 ? { PICKUP: before[before.length - 1]!.kind === 'ARRIVED' } : {};
        const windowed = evaluateGeofences({ sites: [PICKUP], fixes: fixes.map((x) => x.f).filter((f) => (f.recordedAt as Date).getTime() >= from), initial });
        const full = evaluateGeofences({ sites: [PICKUP], fixes: fixes.map((x) => x.f) });
        expect([...before, ...windowed]).toEqual(full);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses settings without hysteresis and fixes without a time', () => {
    expect(() => evaluateGeofences({ sites: [PICKUP], fixes: [], settings: { enterM: 200, leaveM: 150 } })).toThrow(/hysteresis/);
    expect(() => evaluateGeofences({ sites: [PICKUP], fixes: [{ recordedAt: new Date(NaN), lat: 37.5, lng: 127 }] })).toThrow(/valid time/);
  });
});

describe('suggestedStatus', () => {
  const arrivedPickup = { site: 'PICKUP', kind: 'ARRIVED' } as const;
  const leftPickup = { site: 'PICKUP', kind: 'DEPARTED' } as const;
  const arrivedDropoff = { site: 'DROPOFF', kind: 'ARRIVED' } as const;
  const leftDropoff = { site: 'DROPOFF', kind: 'DEPARTED' } as const;

  it('suggests the next forward status for each event, and nothing once the driver is past it', () => {
    const table = DISPATCH_STATUSES.map((status) => [
      status,
      suggestedStatus(status, undefined),
      suggestedStatus(status, arrivedPickup),
      suggestedStatus(status, leftPickup),
      suggestedStatus(status, arrivedDropoff),
      suggestedStatus(status, leftDropoff),
    ]);
    expect(table).toEqual([
      ['ASSIGNED', null, 'PICKED_UP', 'IN_TRANSIT', null, null],
      ['ACCEPTED', null, 'PICKED_UP', 'IN_TRANSIT', null, null],
      ['PICKED_UP', null, null, 'IN_TRANSIT', 'DELIVERED', null],
      ['IN_TRANSIT', null, null, null, 'DELIVERED', null],
      ['DELIVERED', null, null, null, null, 'COMPLETED'],
      ['COMPLETED', null, null, null, null, null],
      ['CANCELLED', null, null, null, null, null],
      ['FAILED', null, null, null, null, null],
    ]);
  });
});
