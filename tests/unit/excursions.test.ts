import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXCURSION_DEFAULTS,
  evaluateExcursions,
  highestRollingMkt,
  isSettledReading,
  meanKineticTemperatureC,
  settledSearchBound,
  type Excursion,
  type ExcursionInput,
  type ExcursionLimits,
  type TemperatureReadingInput,
} from '../../domain/excursions.js';
import { TEMPERATURE_PROFILES, resolveOrderLimits } from '../../domain/temperature-profiles.js';

const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const at = (s: number): number => T0 + s * 1000;
const date = (s: number): Date => new Date(at(s));

const CHILLED: ExcursionLimits = TEMPERATURE_PROFILES.CHILLED.limits;
const FROZEN: ExcursionLimits = TEMPERATURE_PROFILES.FROZEN.limits;
const PHARMA: ExcursionLimits = TEMPERATURE_PROFILES.PHARMA_2_8.limits;

/** Readings of one sensor, one every `stepS` seconds from `startS`. */
function series(startS: number, stepS: number, temps: readonly number[], sensor = 'zone1', door?: readonly (boolean | null)[]): TemperatureReadingInput[] {
  return temps.map((temperatureC, i) => ({ recordedAt: at(startS + i * stepS), temperatureC, sensor, ...(door ? { doorOpen: door[i] ?? null } : {}) }));
}

/** `n` copies of a value. */
const rep = (n: number, v: number): number[] => Array.from({ length: n }, () => v);

const evaluate = (readings: TemperatureReadingInput[], extra: Partial<ExcursionInput> = {}): Excursion[] =>
  evaluateExcursions({ readings, limits: CHILLED, ...extra });

describe('EXCURSION_DEFAULTS', () => {
  it('are the design defaults: open after 600 s, close after 300 s, a gap after 900 s', () => {
    expect(EXCURSION_DEFAULTS).toEqual({ openAfterS: 600, closeAfterS: 300, gapS: 900 });
  });
});

describe('evaluateExcursions: in range and short spikes', () => {
  it('finds nothing when every reading is in range, limits included', () => {
    expect(evaluate(series(0, 60, [0, 5, 10, 10, 0, 3]))).toEqual([]);
  });

  it('finds nothing without readings', () => {
    expect(evaluate([])).toEqual([]);
  });

  it('ignores a spike shorter than the open delay (out from 0 s to 540 s)', () => {
    // 10 readings out of range spanning 540 s, then back in range.
    expect(evaluate(series(0, 60, [5, ...rep(10, 12), ...rep(10, 5)]))).toEqual([]);
  });

  it('opens exactly at the open delay (a run spanning 600 s)', () => {
    // Out at 60 s .. 660 s: 11 readings, span 600 s.
    const found = evaluate(series(0, 60, [5, ...rep(11, 12), ...rep(10, 5)]));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'HIGH', severity: 'WARNING', status: 'CLOSED', startedAt: date(60), endedAt: date(720), readings: 11 });
  });

  it('does not open one millisecond short of the open delay', () => {
    const readings: TemperatureReadingInput[] = [
      { recordedAt: at(0), temperatureC: 12, sensor: 'zone1' },
      { recordedAt: at(600) - 1, temperatureC: 12, sensor: 'zone1' },
      { recordedAt: at(700), temperatureC: 5, sensor: 'zone1' },
    ];
    expect(evaluate(readings)).toEqual([]);
    readings[1]!.recordedAt = at(600);
    expect(evaluate(readings)).toHaveLength(1);
  });

  it('needs the run to be continuous: an in-range reading in the middle restarts the count', () => {
    // 5 min out, one in-range reading, 5 min out: never 600 s out in a row.
    expect(evaluate(series(0, 60, [...rep(6, 12), 5, ...rep(6, 12), ...rep(10, 5)]))).toEqual([]);
  });

  it('honours other delays given by the caller', () => {
    const readings = series(0, 60, [...rep(3, 12), ...rep(3, 5)]);
    expect(evaluate(readings)).toEqual([]);
    expect(evaluate(readings, { openAfterS: 120, closeAfterS: 120 })).toHaveLength(1);
  });
});

describe('evaluateExcursions: start, end and closing', () => {
  it('starts at the first out-of-range reading and ends at the first in-range reading of the closing run', () => {
    const found = evaluate(series(0, 60, [5, 5, ...rep(15, 12), ...rep(10, 6)]));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ startedAt: date(120), endedAt: date(1020), durationS: 900, status: 'CLOSED', readings: 15, peakC: 12, meanC: 12 });
  });

  it('closes exactly when back in range for the close delay, not a millisecond earlier', () => {
    const out = series(0, 60, rep(11, 12));
    const back = (lastS: number): TemperatureReadingInput[] => [
      ...out,
      { recordedAt: at(660), temperatureC: 5, sensor: 'zone1' },
      { recordedAt: at(lastS), temperatureC: 5, sensor: 'zone1' },
    ];
    expect(evaluate(back(960))[0]).toMatchObject({ status: 'CLOSED', endedAt: date(660) });
    expect(evaluate(back(960 - 0.001))[0]).toMatchObject({ status: 'OPEN', endedAt: null });
  });

  it('stays OPEN when the readings end out of range, measured to the last reading', () => {
    const found = evaluate(series(0, 60, [5, ...rep(20, 12)]), { now: at(5000) });
    expect(found).toEqual([expect.objectContaining({ kind: 'HIGH', status: 'OPEN', startedAt: date(60), endedAt: null, durationS: 1140, readings: 20 })]);
  });

  it('stays OPEN when back in range for less than the close delay at the end', () => {
    const found = evaluate(series(0, 60, [...rep(11, 12), 5, 5]));
    expect(found[0]).toMatchObject({ status: 'OPEN', endedAt: null, readings: 13, durationS: 720 });
  });

  it('reports a second excursion after a closed one as its own', () => {
    const found = evaluate(series(0, 60, [...rep(11, 12), ...rep(6, 5), ...rep(11, 13), ...rep(6, 5)]));
    expect(found.map((e) => [e.startedAt, e.endedAt, e.peakC])).toEqual([
      [date(0), date(660), 12],
      [date(1020), date(1680), 13],
    ]);
    expect(new Set(found.map((e) => e.id)).size).toBe(2);
  });
});

describe('evaluateExcursions: sides and severity', () => {
  it('reports LOW below the minimum with the coldest reading as its peak', () => {
    const found = evaluate(series(0, 60, [3, -1, -2, -3.5, -2, ...rep(8, -1), ...rep(6, 4)]));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'LOW', severity: 'WARNING', peakC: -3.5, peakAt: date(180), startedAt: date(60), endedAt: date(780) });
  });

  it('reports HIGH with the warmest reading as its peak, at its first occurrence', () => {
    const found = evaluate(series(0, 60, [11, 14, 13, 14, ...rep(8, 11), ...rep(6, 4)]));
    expect(found[0]).toMatchObject({ kind: 'HIGH', peakC: 14, peakAt: date(60) });
  });

  it('treats a 0 °C limit as a limit (a truthiness check would see no maximum)', () => {
    const limits = resolveOrderLimits({ cargo_class: 'FROZEN', temp_min_c: null, temp_max_c: 0 }).limits;
    const found = evaluateExcursions({ readings: series(0, 60, rep(12, 0.5)), limits });
    expect(found).toEqual([expect.objectContaining({ kind: 'HIGH', peakC: 0.5 })]);
    // A 0 °C minimum: −0.5 °C for 11 minutes is LOW.
    expect(evaluateExcursions({ readings: series(0, 60, rep(12, -0.5)), limits: { min: 0, max: null, criticalMin: null, criticalMax: null } })).toEqual([
      expect.objectContaining({ kind: 'LOW' }),
    ]);
  });

  it('opens a CRITICAL excursion at once on a single reading beyond the critical limit', () => {
    const found = evaluateExcursions({ readings: series(0, 60, [-20, -20, -10, ...rep(6, -20)]), limits: FROZEN });
    expect(found).toEqual([
      expect.objectContaining({ kind: 'HIGH', severity: 'CRITICAL', status: 'CLOSED', startedAt: date(120), endedAt: date(180), peakC: -10, readings: 1 }),
    ]);
  });

  it('does not treat a reading on the critical limit as critical (FROZEN: critical strictly above −15)', () => {
    expect(evaluateExcursions({ readings: series(0, 60, [-20, -15, ...rep(6, -20)]), limits: FROZEN })).toEqual([]);
  });

  it('escalates a warning run that goes critical into one CRITICAL excursion from the run start', () => {
    // −17 (warning) for 3 minutes, then −12 (critical): one excursion, starting at the first −17.
    const found = evaluateExcursions({ readings: series(0, 60, [-20, -17, -17, -17, -12, -17, ...rep(6, -19)]), limits: FROZEN });
    expect(found).toEqual([
      expect.objectContaining({ severity: 'CRITICAL', startedAt: date(60), endedAt: date(360), peakC: -12, peakAt: date(240), readings: 5 }),
    ]);
  });

  it('escalates an already open WARNING excursion when it later goes critical', () => {
    const found = evaluateExcursions({ readings: series(0, 60, [...rep(12, -17), -14, ...rep(6, -19)]), limits: FROZEN });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'CRITICAL', startedAt: date(0), readings: 13 });
  });

  it('keeps HIGH and LOW apart: a swing from warm to cold closes one and opens the other', () => {
    const found = evaluate(series(0, 60, [...rep(12, 12), ...rep(12, -2), ...rep(6, 5)]));
    expect(found.map((e) => [e.kind, e.startedAt, e.endedAt])).toEqual([
      ['HIGH', date(0), date(720)],
      ['LOW', date(720), date(1440)],
    ]);
  });
});

describe('evaluateExcursions: flapping', () => {
  it('does not close and reopen on in-range blips shorter than the close delay', () => {
    // Open (12 °C for 10 minutes), then 12 °C with a 9.9 °C reading every third minute for 30 minutes.
    const flapping = Array.from({ length: 30 }, (_, i) => (i % 3 === 2 ? 9.9 : 12));
    const found = evaluate(series(0, 60, [...rep(11, 12), ...flapping, ...rep(6, 5)]));
    expect(found).toHaveLength(1);
    // The last flapping reading (9.9 °C at 2400 s) starts the closing run, so the excursion ends there;
    // the 9 earlier blips are inside its window.
    expect(found[0]).toMatchObject({ startedAt: date(0), endedAt: date(2400), readings: 40, status: 'CLOSED' });
    expect(found[0]!.meanC).toBeCloseTo((31 * 12 + 9 * 9.9) / 40, 10);
  });

  it('does close when the in-range spell lasts the close delay, and reopens after the open delay', () => {
    const found = evaluate(series(0, 60, [...rep(11, 12), ...rep(6, 9.9), ...rep(11, 12), ...rep(6, 5)]));
    expect(found).toHaveLength(2);
  });
});

describe('evaluateExcursions: gaps in readings', () => {
  const onBoard = [{ from: at(-3600), to: null }];

  it('does not open across a silence longer than gapS: the silence proves nothing', () => {
    const readings = [...series(0, 60, rep(3, 12)), ...series(1200, 60, rep(3, 12)), ...series(1380, 60, rep(6, 5))];
    expect(evaluate(readings).filter((e) => e.kind !== 'DATA_GAP')).toEqual([]);
    // The same readings with gapS raised above the silence do open.
    expect(evaluate(readings, { gapS: 2000 })).toEqual([expect.objectContaining({ kind: 'HIGH', startedAt: date(0) })]);
  });

  it('does not close an open excursion across a silence: back-in-range evidence restarts after it', () => {
    // Open from 0; one in-range reading at 720, silence, in range again from 2000.
    const readings = [...series(0, 60, rep(12, 12)), ...series(720, 60, [5]), ...series(2000, 60, rep(6, 5))];
    const found = evaluate(readings, { onBoard });
    expect(found.find((e) => e.kind === 'HIGH')).toMatchObject({ status: 'CLOSED', startedAt: date(0), endedAt: date(2000) });
  });

  it('opens a DATA_GAP for a silence longer than gapS while on board, from the last reading to the next', () => {
    const readings = [...series(0, 60, rep(5, 5)), ...series(1300, 60, rep(5, 5))];
    const found = evaluate(readings, { onBoard });
    expect(found).toEqual([
      expect.objectContaining({
        id: `zone1:DATA_GAP:${date(240).toISOString()}`,
        kind: 'DATA_GAP',
        severity: 'WARNING',
        status: 'CLOSED',
        startedAt: date(240),
        endedAt: date(1300),
        durationS: 1060,
        readings: 0,
        peakC: null,
        meanC: null,
        doorOpenS: null,
        mktC: null,
      }),
    ]);
  });

  it('does not call a silence of exactly gapS a gap (a logger every 15 minutes is fine)', () => {
    expect(evaluate(series(0, 900, rep(6, 5)), { onBoard, now: at(5400) })).toEqual([]);
    expect(evaluate(series(0, 900.001, rep(2, 5)), { onBoard })).toHaveLength(1);
  });

  it('opens no DATA_GAP while the cargo is not on board', () => {
    const readings = [...series(0, 60, rep(5, 5)), ...series(5000, 60, rep(5, 5))];
    expect(evaluate(readings)).toEqual([]);
    expect(evaluate(readings, { onBoard: [{ from: at(6000), to: null }] })).toEqual([]);
    expect(evaluate(readings, { onBoard: [{ from: at(-5000), to: at(0) }] })).toEqual([]);
  });

  it('clips a DATA_GAP to the on-board interval', () => {
    const readings = [...series(0, 60, [5]), ...series(10_000, 60, [5])];
    const found = evaluate(readings, { onBoard: [{ from: at(2000), to: at(4000) }] });
    expect(found).toEqual([expect.objectContaining({ kind: 'DATA_GAP', startedAt: date(2000), endedAt: date(4000), durationS: 2000, status: 'CLOSED' })]);
  });

  it('opens no DATA_GAP before the first reading, nor for a vehicle without readings', () => {
    expect(evaluate(series(5000, 60, rep(5, 5)), { onBoard, now: at(5300) })).toEqual([]);
    expect(evaluate([], { onBoard, now: at(100_000) })).toEqual([]);
  });

  it('keeps a DATA_GAP OPEN from the last reading to now while still on board', () => {
    const found = evaluate(series(0, 60, rep(5, 5)), { onBoard, now: at(2000) });
    expect(found).toEqual([expect.objectContaining({ kind: 'DATA_GAP', status: 'OPEN', startedAt: date(240), endedAt: null, durationS: 1760 })]);
    expect(evaluate(series(0, 60, rep(5, 5)), { onBoard, now: at(240 + 900) })).toEqual([]);
  });

  it('closes a trailing DATA_GAP when the cargo left the vehicle, with or without now', () => {
    const delivered = [{ from: at(-100), to: at(3000) }];
    const expected = expect.objectContaining({ kind: 'DATA_GAP', status: 'CLOSED', startedAt: date(240), endedAt: date(3000) });
    expect(evaluate(series(0, 60, rep(5, 5)), { onBoard: delivered, now: at(9000) })).toEqual([expected]);
    expect(evaluate(series(0, 60, rep(5, 5)), { onBoard: delivered })).toEqual([expected]);
    // Still on board and no `now`: a trailing silence is not known.
    expect(evaluate(series(0, 60, rep(5, 5)), { onBoard })).toEqual([]);
  });

  it('counts overlapping on-board intervals once', () => {
    const readings = [...series(0, 60, [5]), ...series(3000, 60, [5])];
    const found = evaluate(readings, {
      onBoard: [
        { from: at(-10), to: at(2000) },
        { from: at(1000), to: null },
      ],
    });
    expect(found).toEqual([expect.objectContaining({ kind: 'DATA_GAP', startedAt: date(0), endedAt: date(3000) })]);
  });

  it('judges each sensor on its own readings', () => {
    const readings = [...series(0, 60, rep(40, 5), 'a'), ...series(0, 60, [5], 'b'), ...series(2000, 60, [5], 'b'), ...series(0, 60, rep(12, 12), 'c')];
    const found = evaluate(readings, { onBoard });
    expect(found.map((e) => [e.sensor, e.kind])).toEqual([
      ['b', 'DATA_GAP'],
      ['c', 'HIGH'],
    ]);
  });
});

describe('evaluateExcursions: edges', () => {
  it('never opens a WARNING on a single out-of-range reading, however long before the next one', () => {
    expect(evaluate(series(0, 60, [5, 12, 5, 5, 5, 5, 5, 5]))).toEqual([]);
    expect(evaluate(series(0, 60, [5, 12, 5, 5, 5, 5, 5, 5]), { openAfterS: 0 })).toEqual([expect.objectContaining({ kind: 'HIGH', readings: 1 })]);
  });

  it('opens a CRITICAL LOW at once below a critical minimum', () => {
    const limits: ExcursionLimits = { min: 2, max: 8, criticalMin: -1, criticalMax: null };
    expect(evaluateExcursions({ readings: series(0, 60, [5, -2, ...rep(6, 5)]), limits })).toEqual([
      expect.objectContaining({ kind: 'LOW', severity: 'CRITICAL', startedAt: date(60), endedAt: date(120), peakC: -2 }),
    ]);
  });

  it('accepts Date and millisecond times alike, for readings, on-board intervals and now', () => {
    const readings = [...series(0, 60, rep(12, 12)), ...series(2000, 60, rep(6, 5))];
    const asNumbers = evaluate(readings, { onBoard: [{ from: at(0), to: at(9000) }], now: at(9000) });
    const asDates = evaluate(
      readings.map((r) => ({ ...r, recordedAt: new Date(r.recordedAt) })),
      { onBoard: [{ from: date(0), to: date(9000) }], now: date(9000) },
    );
    expect(asDates).toEqual(asNumbers);
    expect(asNumbers.map((e) => e.kind)).toEqual(['HIGH', 'DATA_GAP', 'DATA_GAP']);
  });

  it('opens no trailing DATA_GAP when now is before the last reading (a device clock ahead)', () => {
    expect(evaluate(series(0, 60, rep(5, 5)), { onBoard: [{ from: at(0), to: null }], now: at(100) })).toEqual([]);
  });
});

describe('evaluateExcursions: door open time', () => {
  it('sums the seconds the door was reported open inside the window', () => {
    const door = [false, true, true, true, false, ...rep(7, 0).map(() => false), false, false, false, false, false, false];
    const found = evaluate(series(0, 60, [...rep(12, 12), ...rep(6, 5)], 'zone1', door));
    expect(found[0]).toMatchObject({ doorOpenS: 180 });
  });

  it('holds the last window reading\u2019s door state until the excursion ends', () => {
    const door = [...rep(10, 0).map(() => false), true, ...rep(6, 0).map(() => false)];
    // The 11th reading (600 s) is the last out of range and open; the excursion ends at 660 s.
    expect(evaluate(series(0, 60, [...rep(11, 12), ...rep(6, 5)], 'zone1', door))[0]).toMatchObject({ endedAt: date(660), doorOpenS: 60 });
  });

  it('does not count door-open time across a silence beyond gapS', () => {
    const readings = [
      { recordedAt: at(0), temperatureC: 12, sensor: 'zone1', doorOpen: true },
      { recordedAt: at(3000), temperatureC: 12, sensor: 'zone1', doorOpen: false },
    ];
    expect(evaluate(readings, { openAfterS: 0 })[0]).toMatchObject({ doorOpenS: 900 });
  });

  it('is 0 when the door was reported closed, and null when never reported', () => {
    expect(
      evaluate(
        series(
          0,
          60,
          rep(12, 12),
          'zone1',
          rep(12, 0).map(() => false),
        ),
      )[0]!.doorOpenS,
    ).toBe(0);
    expect(evaluate(series(0, 60, rep(12, 12)))[0]!.doorOpenS).toBeNull();
    expect(
      evaluate(
        series(
          0,
          60,
          rep(12, 12),
          'zone1',
          rep(12, 0).map(() => null),
        ),
      )[0]!.doorOpenS,
    ).toBeNull();
  });
});

describe('mean kinetic temperature', () => {
  it('matches a hand-computed value (ΔH/R = 10 000 K)', () => {
    // 9, 14, 14, 9 °C → 282.15, 287.15 K; e^(−10000/282.15) = 4.0520e-16, e^(−10000/287.15) = 7.5109e-16;
    // mean 5.7815e-16, −ln = 35.08670, 10000 / 35.08670 = 285.00826 K = 11.85826 °C (40-digit decimal: 11.8582615715686).
    // 5 and 25 °C: 278.15 and 298.15 K → 19.6977213637088 °C, well above their arithmetic mean of 15 °C.
    expect(meanKineticTemperatureC([9, 14, 14, 9])).toBeCloseTo(11.8582615715686, 9);
    expect(meanKineticTemperatureC([5, 25])).toBeCloseTo(19.6977213637088, 9);
  });

  it('equals the temperature when constant, and is above the arithmetic mean otherwise', () => {
    expect(meanKineticTemperatureC([8, 8, 8])).toBeCloseTo(8, 10);
    expect(meanKineticTemperatureC([5, 25])!).toBeGreaterThan(15);
    expect(meanKineticTemperatureC([])).toBeNull();
  });

  it('is reported over the window of a PHARMA_2_8 excursion, and only there', () => {
    const readings = series(0, 60, [5, 10, 12, 16, 12, 10, ...rep(6, 5)]);
    const pharma = evaluateExcursions({ readings, limits: PHARMA });
    expect(pharma).toHaveLength(1);
    expect(pharma[0]).toMatchObject({ severity: 'CRITICAL', startedAt: date(60), endedAt: date(360), readings: 5 });
    expect(pharma[0]!.mktC).toBeCloseTo(12.296621097635, 9);
    expect(evaluateExcursions({ readings, limits: { ...PHARMA, mktMax: null } })[0]!.mktC).toBeNull();
    expect(evaluate(series(0, 60, rep(12, 12)))[0]!.mktC).toBeNull();
  });
});

describe('evaluateExcursions: arrival order and duplicates', () => {
  const readings = [
    ...series(
      0,
      60,
      [5, ...rep(14, 12), ...rep(6, 5)],
      'zone1',
      rep(21, 0).map((_, i) => i === 3),
    ),
    ...series(0, 60, rep(15, -2), 'zone2'),
  ];

  it('gives the same excursions for reversed, shuffled and duplicated input', () => {
    const sorted = evaluate(readings, { onBoard: [{ from: at(0), to: null }], now: at(3000) });
    expect(sorted.length).toBeGreaterThan(0);
    const reversed = [...readings].reverse();
    const interleaved = [...readings.filter((_, i) => i % 2 === 1), ...readings.filter((_, i) => i % 2 === 0)];
    const duplicated = [...readings, ...readings.slice(3, 9).map((r) => ({ ...r, recordedAt: new Date(r.recordedAt) }))];
    for (const variant of [reversed, interleaved, duplicated]) {
      expect(evaluate(variant, { onBoard: [{ from: at(0), to: null }], now: at(3000) })).toEqual(sorted);
    }
  });

  it('counts a duplicated reading once', () => {
    const once = evaluate(readings);
    const twice = evaluate([...readings, ...readings]);
    expect(twice).toEqual(once);
    expect(once.find((e) => e.sensor === 'zone1')!.readings).toBe(14);
  });

  it('gives the same id when an OPEN excursion later closes', () => {
    const open = evaluate(readings.slice(0, 13));
    const closed = evaluate(readings);
    expect(open[0]!.status).toBe('OPEN');
    expect(closed.find((e) => e.sensor === 'zone1')).toMatchObject({ id: open[0]!.id, status: 'CLOSED' });
    expect(open[0]!.id).toBe(`zone1:HIGH:${date(60).toISOString()}`);
  });

  it('refuses readings it cannot place in time', () => {
    expect(() => evaluate([{ recordedAt: new Date(Number.NaN), temperatureC: 5, sensor: 'zone1' }])).toThrow(RangeError);
    expect(() => evaluate([{ recordedAt: at(0), temperatureC: Number.NaN, sensor: 'zone1' }])).toThrow(RangeError);
    expect(() => evaluate([], { openAfterS: -1 })).toThrow(RangeError);
  });
});

// ---- Properties ----

interface GenReading {
  sensor: string;
  minute: number;
  jitterMs: number;
  temperatureC: number;
  doorOpen: boolean | null | undefined;
  key: number;
  copies: number;
}

const genReading: fc.Arbitrary<GenReading> = fc.record({
  sensor: fc.constantFrom('a', 'b'),
  minute: fc.integer({ min: 0, max: 180 }),
  // Mostly on the minute, sometimes off it, sometimes far enough to make silences.
  jitterMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 59_999 })),
  temperatureC: fc.oneof(fc.integer({ min: -4, max: 18 }), fc.double({ min: -5, max: 20, noNaN: true })),
  doorOpen: fc.constantFrom(true, false, null, undefined),
  key: fc.integer(),
  copies: fc.integer({ min: 0, max: 2 }),
});

/**
 * A trip: spells of one temperature a minute apart per sensor, some readings dropped, some spells
 * silent, so that runs open, flap, close and gap far more often than with independent readings.
 */
const genTrip: fc.Arbitrary<GenReading[]> = fc
  .tuple(
    fc.array(
      fc.record({
        sensor: fc.constantFrom('a', 'b'),
        minutes: fc.integer({ min: 1, max: 25 }),
        temperatureC: fc.option(fc.constantFrom(-6, -1, 0, 5, 8, 10, 10.5, 14, 16, 25), { nil: null, freq: 6 }),
        doorOpen: fc.constantFrom(true, false, null, undefined),
        dropEvery: fc.constantFrom(0, 0, 3, 7),
      }),
      { maxLength: 15 },
    ),
    fc.array(fc.integer(), { minLength: 400, maxLength: 400 }),
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 400, maxLength: 400 }),
  )
  .map(([spells, keys, copies]) => {
    const out: GenReading[] = [];
    const clock: Record<string, number> = { a: 0, b: 0 };
    for (const spell of spells) {
      for (let m = 0; m < spell.minutes; m++) {
        const minute = clock[spell.sensor]!;
        clock[spell.sensor] = minute + 1;
        if (spell.temperatureC === null || (spell.dropEvery > 0 && m % spell.dropEvery === spell.dropEvery - 1)) continue;
        const i = out.length;
        out.push({ sensor: spell.sensor, minute, jitterMs: 0, temperatureC: spell.temperatureC, doorOpen: spell.doorOpen, key: keys[i]!, copies: copies[i]! });
      }
    }
    return out;
  });

const genLimits: fc.Arbitrary<ExcursionLimits> = fc.constantFrom<ExcursionLimits>(
  CHILLED,
  PHARMA,
  { min: 0, max: 0, criticalMin: -3, criticalMax: 15 },
  { min: null, max: 8, criticalMin: null, criticalMax: null },
);

const genCase = fc.record({
  readings: fc.oneof(fc.array(genReading, { maxLength: 120 }), genTrip),
  limits: genLimits,
  openAfterS: fc.constantFrom(0, 120, 600),
  closeAfterS: fc.constantFrom(0, 60, 300),
  gapS: fc.constantFrom(300, 900),
  onBoardFromMin: fc.integer({ min: -10, max: 100 }),
  onBoardToMin: fc.option(fc.integer({ min: 50, max: 400 }), { nil: null }),
  nowMin: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
});

type Case = typeof genCase extends fc.Arbitrary<infer C> ? C : never;

function inputFor(c: Case, readings: TemperatureReadingInput[]): ExcursionInput {
  return {
    readings,
    limits: c.limits,
    openAfterS: c.openAfterS,
    closeAfterS: c.closeAfterS,
    gapS: c.gapS,
    onBoard: [{ from: at(c.onBoardFromMin * 60), to: c.onBoardToMin === null ? null : at(c.onBoardToMin * 60) }],
    ...(c.nowMin === undefined ? {} : { now: at(c.nowMin * 60) }),
  };
}

const toInput = (g: GenReading, asDate: boolean): TemperatureReadingInput => {
  const ms = at(g.minute * 60) + g.jitterMs;
  return {
    recordedAt: asDate ? new Date(ms) : ms,
    temperatureC: g.temperatureC,
    sensor: g.sensor,
    ...(g.doorOpen === undefined ? {} : { doorOpen: g.doorOpen }),
  };
};

describe('evaluateExcursions: properties', () => {
  it('gives for shuffled, duplicated input exactly what it gives for sorted input', () => {
    fc.assert(
      fc.property(genCase, (c) => {
        const sorted = [...c.readings].sort((x, y) => x.minute * 60_000 + x.jitterMs - (y.minute * 60_000 + y.jitterMs)).map((g) => toInput(g, false));
        const shuffled = c.readings
          .flatMap((g) => Array.from({ length: 1 + g.copies }, (_, i) => ({ g, key: g.key ^ (i * 7919) })))
          .sort((x, y) => x.key - y.key)
          .map(({ g }) => toInput(g, true));
        expect(evaluateExcursions(inputFor(c, shuffled))).toEqual(evaluateExcursions(inputFor(c, sorted)));
      }),
      { numRuns: 400 },
    );
  });

  it('keeps every excursion consistent: start ≤ end, duration, peak and mean inside the window', () => {
    fc.assert(
      fc.property(genCase, (c) => {
        const readings = c.readings.map((g) => toInput(g, false));
        const found = evaluateExcursions(inputFor(c, readings));
        const ids = new Set<string>();
        for (const e of found) {
          expect(ids.has(e.id)).toBe(false);
          ids.add(e.id);
          expect(e.id).toBe(`${e.sensor}:${e.kind}:${e.startedAt.toISOString()}`);
          expect(e.durationS).toBeGreaterThanOrEqual(0);
          if (e.status === 'CLOSED') {
            expect(e.endedAt).not.toBeNull();
            expect(e.startedAt.getTime()).toBeLessThanOrEqual(e.endedAt!.getTime());
            expect(e.durationS * 1000).toBeCloseTo(e.endedAt!.getTime() - e.startedAt.getTime(), 6);
          } else {
            expect(e.endedAt).toBeNull();
          }
          if (e.kind === 'DATA_GAP') {
            expect(e.durationS).toBeGreaterThan(c.gapS);
            expect(e.readings).toBe(0);
            continue;
          }
          // The window's readings, recomputed from the input.
          const ofSensor = readings.filter((r) => r.sensor === e.sensor).map((r) => Number(r.recordedAt));
          const lastOfSensor = Math.max(...ofSensor);
          const end = e.endedAt === null ? lastOfSensor + 1 : e.endedAt.getTime();
          const inWindow = [...new Set(ofSensor.filter((t) => t >= e.startedAt.getTime() && t < end))];
          expect(e.readings).toBe(inWindow.length);
          if (e.status === 'OPEN') expect(e.durationS * 1000).toBeCloseTo(lastOfSensor - e.startedAt.getTime(), 6);
          expect(e.peakAt!.getTime()).toBeGreaterThanOrEqual(e.startedAt.getTime());
          expect(e.peakAt!.getTime()).toBeLessThan(end);
          if (e.kind === 'HIGH') expect(e.peakC!).toBeGreaterThanOrEqual(e.meanC! - 1e-9);
          else expect(e.peakC!).toBeLessThanOrEqual(e.meanC! + 1e-9);
          const beyond =
            e.kind === 'HIGH'
              ? e.peakC! > (c.limits.max ?? Infinity) || e.peakC! > (c.limits.criticalMax ?? Infinity)
              : e.peakC! < (c.limits.min ?? -Infinity) || e.peakC! < (c.limits.criticalMin ?? -Infinity);
          expect(beyond).toBe(true);
          if (e.doorOpenS !== null) expect(e.doorOpenS).toBeLessThanOrEqual(e.durationS + 1e-9);
          if (c.limits.mktMax != null) expect(e.mktC!).toBeGreaterThanOrEqual(e.meanC! - 1e-9);
          else expect(e.mktC).toBeNull();
        }
        // Excursions of one sensor and kind never overlap.
        for (const a of found) {
          for (const b of found) {
            if (a === b || a.sensor !== b.sensor || a.kind !== b.kind || a.startedAt >= b.startedAt) continue;
            expect(a.endedAt).not.toBeNull();
            expect(a.endedAt!.getTime()).toBeLessThanOrEqual(b.startedAt.getTime());
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('windowed evaluation: restarting at a settled reading', () => {
  // CHILLED 0..10 °C, temperatures around both limits, 10 s apart with an occasional silence.
  const genTimeline = fc.array(
    fc.record({ c: fc.constantFrom(-1, 0, 4, 10, 11, 13), n: fc.integer({ min: 1, max: 9 }), gapS: fc.constantFrom(0, 0, 0, 400, 1000) }),
    {
      minLength: 1,
      maxLength: 12,
    },
  );
  const settings = { openAfterS: 60, closeAfterS: 30, gapS: 900 };

  it('from any settled reading on, a window finds exactly the excursions the whole timeline has from there on', () => {
    fc.assert(
      fc.property(genTimeline, (parts) => {
        const readings: TemperatureReadingInput[] = [];
        let t = 0;
        for (const part of parts) {
          for (let i = 0; i < part.n; i++) {
            readings.push({ recordedAt: at(t), temperatureC: part.c, sensor: 'zone1' });
            t += 10;
          }
          t += part.gapS;
        }
        const whole = evaluateExcursions({ readings, limits: CHILLED, ...settings });
        const stored = whole.map((e) => ({ kind: e.kind, startedAt: e.startedAt, endedAt: e.endedAt }));
        readings.forEach((r, k) => {
          const reading = { recordedAt: new Date(r.recordedAt), temperatureC: r.temperatureC };
          if (!isSettledReading(reading, stored, CHILLED, settings.closeAfterS)) return;
          const window = evaluateExcursions({ readings: readings.slice(k), limits: CHILLED, ...settings });
          expect(window).toEqual(whole.filter((e) => e.startedAt.getTime() >= reading.recordedAt.getTime()));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a reading inside an excursion or its closing span is not settled, whatever its temperature', () => {
    const stored = [{ kind: 'HIGH' as const, startedAt: date(100), endedAt: date(200) }];
    const settled = (s: number, c = 4) => isSettledReading({ recordedAt: date(s), temperatureC: c }, stored, CHILLED, 30);
    expect([settled(90), settled(100), settled(150), settled(229), settled(230), settled(230, 11)]).toEqual([true, false, false, false, true, false]);
    expect(isSettledReading({ recordedAt: date(500), temperatureC: 4 }, [{ kind: 'LOW', startedAt: date(100), endedAt: null }], CHILLED, 30)).toBe(false);
    // A DATA_GAP is no run of the HIGH/LOW evaluation.
    expect(isSettledReading({ recordedAt: date(150), temperatureC: 4 }, [{ kind: 'DATA_GAP', startedAt: date(100), endedAt: date(200) }], CHILLED, 30)).toBe(
      true,
    );
  });

  it('the search bound skips back over every run that covers the time before it', () => {
    const stored = [
      { kind: 'HIGH' as const, startedAt: date(100), endedAt: date(200) }, // running until 230
      { kind: 'LOW' as const, startedAt: date(220), endedAt: date(300) }, // running until 330
    ];
    expect(settledSearchBound(at(320), stored, 30)).toBe(at(100));
    expect(settledSearchBound(at(330), stored, 30)).toBe(at(100)); // the end is exclusive, but a reading just before 330 is inside
    expect(settledSearchBound(at(400), stored, 30)).toBe(at(400));
    expect(settledSearchBound(at(225), stored.slice(1), 30)).toBe(at(220));
  });
});

describe('rolling mean kinetic temperature (PHARMA_2_8: ≤ 8 °C over 24 h)', () => {
  const DAY_S = 24 * 3600;
  /** The same verdict computed the slow way: every full window, each with meanKineticTemperatureC. */
  function bruteForce(readings: { recordedAt: number; temperatureC: number }[], windowS: number) {
    const rs = [...readings].sort((a, b) => a.recordedAt - b.recordedAt);
    const last = rs[rs.length - 1]!.recordedAt;
    if (last - rs[0]!.recordedAt < windowS * 1000) return { mktC: meanKineticTemperatureC(rs.map((r) => r.temperatureC))!, completeWindow: false };
    let best = -Infinity;
    for (const start of rs) {
      if (start.recordedAt + windowS * 1000 > last) break;
      const inWindow = rs.filter((r) => r.recordedAt >= start.recordedAt && r.recordedAt < start.recordedAt + windowS * 1000);
      best = Math.max(best, meanKineticTemperatureC(inWindow.map((r) => r.temperatureC))!);
    }
    return { mktC: best, completeWindow: true };
  }

  it('equals the highest MKT of every full window, computed one window at a time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ minute: fc.integer({ min: 0, max: 3000 }), temperatureC: fc.double({ min: -5, max: 30, noNaN: true }) }), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.integer({ min: 60, max: 2000 }),
        (raw, windowMin) => {
          const byTime = new Map(raw.map((r) => [at(r.minute * 60), r.temperatureC]));
          const readings = [...byTime].map(([recordedAt, temperatureC]) => ({ recordedAt, temperatureC }));
          const fast = highestRollingMkt(readings, windowMin * 60)!;
          const slow = bruteForce(readings, windowMin * 60);
          expect(fast.completeWindow).toBe(slow.completeWindow);
          expect(fast.mktC).toBeCloseTo(slow.mktC, 9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a warm afternoon inside two days at 5 °C: the 24 h window holding it, not the trip’s average', () => {
    // One reading a minute for 48 h at 5 °C, with 6 h at 20 °C in the second day.
    const readings = Array.from({ length: 48 * 60 }, (_, m) => ({ recordedAt: at(m * 60), temperatureC: m >= 30 * 60 && m < 36 * 60 ? 20 : 5 }));
    const worst = highestRollingMkt(readings, DAY_S)!;
    expect(worst.completeWindow).toBe(true);
    expect(worst.readings).toBe(24 * 60);
    expect(worst.mktC).toBeGreaterThan(8); // the whole two days' MKT is lower, the worst day's is above the limit
    expect(meanKineticTemperatureC(readings.map((r) => r.temperatureC))!).toBeLessThan(worst.mktC);
    expect(worst.from.getTime()).toBeLessThanOrEqual(at(30 * 60 * 60));
    expect(worst.to.getTime()).toBeGreaterThanOrEqual(at(36 * 60 * 60 - 60));
  });

  it('a trip shorter than the window is one window of every reading; no readings, no verdict; a window must be positive', () => {
    const short = highestRollingMkt(
      [
        { recordedAt: at(0), temperatureC: 4 },
        { recordedAt: at(600), temperatureC: 6 },
      ],
      DAY_S,
    )!;
    expect(short).toMatchObject({ readings: 2, completeWindow: false });
    expect(short.mktC).toBeCloseTo(meanKineticTemperatureC([4, 6])!, 9);
    expect(highestRollingMkt([], DAY_S)).toBeNull();
    expect(() => highestRollingMkt([{ recordedAt: at(0), temperatureC: 4 }], 0)).toThrow(RangeError);
  });
});
