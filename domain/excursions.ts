/**
 * Temperature excursions over the device's own timeline (issue 15; DESIGN.md "Cold-chain
 * telemetry and excursions"). Pure and deterministic: no clock (the caller passes `now`),
 * no I/O, the same output for the same set of readings whatever order they arrive in.
 *
 * The design's rules, and what this module does with them:
 * - "Excursions are computed on `recorded_at`, the device's clock, whatever order the readings
 *   arrive in." Readings are grouped by sensor and sorted by `recordedAt`; each sensor is
 *   evaluated on its own. Duplicates (same sensor and `recordedAt`) count once. When duplicates
 *   disagree (they should not: storage is idempotent on (vehicle, sensor, recorded_at)), the one
 *   kept is chosen from the values, not from arrival order: the highest temperature, then
 *   door open true before false before unreported.
 * - "An excursion opens when readings stay out of range for EXCURSION_OPEN_AFTER_S (600); it
 *   starts at the first out-of-range reading of that run." A run is consecutive out-of-range
 *   readings on one side with no in-range reading between; it opens once a later reading of the
 *   run is at least `openAfterS` after the first (≥: exactly 600 s opens, 599.999 s does not).
 *   A single reading is never a span, so a lone out-of-range reading never opens a WARNING
 *   (unless openAfterS is 0).
 * - "It closes when readings stay back in range for EXCURSION_CLOSE_AFTER_S (300); it ends at the
 *   first in-range reading of that run." Same rule mirrored: closed once a later in-range reading
 *   is at least `closeAfterS` after the first in-range reading of the run (≥). A shorter in-range
 *   blip (flapping around the limit) does not close it: the excursion goes on, and the blip's
 *   readings count in its window.
 * - Sides: HIGH and LOW are evaluated independently; for a HIGH excursion "in range" means "not
 *   above the upper limit" (and mirrored for LOW). A swing from too warm straight to too cold
 *   therefore closes the HIGH one (after closeAfterS not-high) and opens a LOW one (after
 *   openAfterS low) on their own clocks; they never overlap.
 * - "A reading beyond a critical limit opens a CRITICAL one at once." A critical reading opens the
 *   excursion at that reading. If it comes inside a run that was still a warning candidate, the
 *   excursion starts at the run's first out-of-range reading (the design's start), not at the
 *   critical reading. An excursion is reported once, with severity CRITICAL if any reading in its
 *   window is beyond a critical limit (a WARNING excursion that later goes critical escalates; it
 *   never becomes two excursions, and never de-escalates).
 * - Gaps inside a run (decision; the design is silent): consecutive readings more than `gapS`
 *   apart are not continuous evidence. An opening or closing run restarts at the first reading
 *   after the gap: the silence proves neither "stayed out" nor "stayed back in range". An open
 *   excursion is therefore not closed by a gap, and a candidate is not opened across one. The
 *   silence itself is reported as a DATA_GAP when the cargo was on board.
 * - "No reading for TELEMETRY_GAP_S (900) while a dispatch is PICKED_UP or IN_TRANSIT opens a
 *   DATA_GAP, once that dispatch has had a first reading." Per sensor: a silence of more than
 *   `gapS` (strictly: a logger reporting every 900 s exactly is not gapping) between two readings
 *   of the sensor, or after its last reading until `now`, clipped to the `onBoard` intervals.
 *   Nothing before the sensor's first reading is a gap (a vehicle without a logger, or a sensor
 *   never heard from, is not flagged). A DATA_GAP starts at the later of the last reading and the
 *   start of the on-board interval, and ends at the next reading or the end of the on-board
 *   interval; it is OPEN (endedAt null) only when the silence reaches `now` while the cargo is
 *   still on board. Without `now`, a trailing silence is known only up to a closed on-board
 *   interval's end. DATA_GAP is always WARNING, with no temperature figures (null) and 0 readings.
 * - HIGH/LOW excursions are evaluated over every reading given (the caller passes the dispatch's
 *   readings); only DATA_GAP is restricted to `onBoard`.
 * - Window of an excursion: from `startedAt` (inclusive) to `endedAt` (exclusive; the first
 *   in-range reading of the closing run is not part of it), or to the sensor's last reading when
 *   still OPEN. durationS = endedAt − startedAt; for an OPEN HIGH/LOW, up to the sensor's last
 *   reading (the latest evidence, so the result depends on readings only); for an OPEN DATA_GAP,
 *   up to `now`.
 * - peakC/peakAt: the warmest reading of a HIGH, the coldest of a LOW; the earliest one on ties.
 *   meanC: arithmetic mean of the window's readings (what an inspector recomputes from the CSV).
 * - doorOpenS: each reading's door state holds until the next reading of the sensor (capped at
 *   `gapS`: no evidence beyond a gap) or the window's end; the seconds held with door open true
 *   are summed. null when no reading in the window reported the door.
 * - mktC: mean kinetic temperature over the window's readings (USP <1160>, ΔH/R = 10,000 K),
 *   only when `limits.mktMax` is set; unweighted (each reading counts once, the USP formula as
 *   written, which assumes regular sampling; no time weighting). The verdict against the 24 h
 *   MKT limit is the temperature record's (highestRollingMkt below): it does not change severity.
 * - Identity: `${sensor}:${kind}:${startedAt ISO}`. The same readings give the same ids, so
 *   storing results is an idempotent upsert on id; an OPEN excursion that later closes keeps its id.
 * - Output order: by sensor, then startedAt, then kind (HIGH, LOW, DATA_GAP).
 */
import { isCriticalHigh, isCriticalLow, isHigh, isLow } from './temperature-profiles.js';

export const EXCURSION_DEFAULTS = Object.freeze({ openAfterS: 600, closeAfterS: 300, gapS: 900 });

/** ΔH/R for the mean kinetic temperature: 83.144 kJ/mol ÷ 8.3144 J/(K·mol) (USP <1160>). */
export const MKT_DELTA_H_OVER_R_K = 10_000;
const KELVIN = 273.15;

export type TimeInput = Date | number;

export interface TemperatureReadingInput {
  recordedAt: TimeInput;
  temperatureC: number;
  sensor: string;
  doorOpen?: boolean | null;
}

export interface ExcursionLimits {
  min: number | null;
  max: number | null;
  criticalMin: number | null;
  criticalMax: number | null;
  mktMax?: number | null;
}

export interface OnBoardInterval {
  from: TimeInput;
  /** null: still on board. */
  to: TimeInput | null;
}

export interface ExcursionInput {
  readings: readonly TemperatureReadingInput[];
  limits: ExcursionLimits;
  openAfterS?: number;
  closeAfterS?: number;
  gapS?: number;
  /** When the cargo was on board (PICKED_UP / IN_TRANSIT); DATA_GAP only inside these. */
  onBoard?: readonly OnBoardInterval[];
  /** The evaluation time, for a DATA_GAP still running after the last reading. */
  now?: TimeInput;
}

export type ExcursionKind = 'HIGH' | 'LOW' | 'DATA_GAP';
export type ExcursionSeverity = 'WARNING' | 'CRITICAL';
export type ExcursionStatus = 'OPEN' | 'CLOSED';

export interface Excursion {
  id: string;
  sensor: string;
  kind: ExcursionKind;
  severity: ExcursionSeverity;
  status: ExcursionStatus;
  startedAt: Date;
  endedAt: Date | null;
  durationS: number;
  peakC: number | null;
  peakAt: Date | null;
  meanC: number | null;
  readings: number;
  doorOpenS: number | null;
  mktC: number | null;
}

interface Reading {
  t: number;
  c: number;
  door: boolean | null;
}

function toMs(value: TimeInput, what: string): number {
  const ms = typeof value === 'number' ? value : value.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is not a valid time`);
  return ms;
}

function nonNegative(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${what} must be a finite number ≥ 0`);
  return v;
}

const doorRank = (d: boolean | null): number => (d === true ? 2 : d === false ? 1 : 0);

/** Which of two readings at the same instant to keep: decided by value, never by arrival order. */
function preferred(a: Reading, b: Reading): Reading {
  if (a.c !== b.c) return a.c > b.c ? a : b;
  return doorRank(a.door) >= doorRank(b.door) ? a : b;
}

/**
 * Mean kinetic temperature in °C (USP <1160>): Tk = (ΔH/R) / −ln( Σ e^(−ΔH/(R·Ti)) / n ), Ti in
 * kelvin; each value weighs the same. Computed with a log-sum-exp shift for accuracy. null for none.
 */
export function meanKineticTemperatureC(temperaturesC: readonly number[], deltaHOverR: number = MKT_DELTA_H_OVER_R_K): number | null {
  if (temperaturesC.length === 0) return null;
  const exponents = temperaturesC.map((c) => -deltaHOverR / (c + KELVIN));
  let top = -Infinity; // a loop, not Math.max(...): a day at one reading a second is 86,400 arguments
  for (const e of exponents) if (e > top) top = e;
  let sum = 0;
  for (const e of exponents) sum += Math.exp(e - top);
  const lnMean = top + Math.log(sum / exponents.length);
  return deltaHOverR / -lnMean - KELVIN;
}

/** The warmest mean kinetic temperature over any window of a sensor's readings (highestRollingMkt). */
export interface RollingMkt {
  mktC: number;
  /** The first and the last reading of that window. */
  from: Date;
  to: Date;
  readings: number;
  /** false when the readings span less than the window: the MKT is then over all of them. */
  completeWindow: boolean;
}

/**
 * The rolling MKT verdict of PHARMA_2_8 ("mean kinetic temperature ≤ 8 over 24 h", USP <659>):
 * the highest MKT over every window [tᵢ, tᵢ + windowS) that starts at a reading and ends at or
 * before the last reading (a window running past the last reading is not a full window). When
 * the readings span less than windowS, the one window is all of them (completeWindow false): an
 * inspector computes the same from the CSV. One sensor's readings, any order; O(n) with a
 * sliding sum of the Arrhenius terms (each about e⁻³⁶: no overflow, no shift needed). null for none.
 */
export function highestRollingMkt(
  readings: readonly { recordedAt: TimeInput; temperatureC: number }[],
  windowS: number,
  deltaHOverR: number = MKT_DELTA_H_OVER_R_K,
): RollingMkt | null {
  if (readings.length === 0) return null;
  const rs = readings.map((r) => ({ t: toMs(r.recordedAt, 'recordedAt'), term: Math.exp(-deltaHOverR / (r.temperatureC + KELVIN)) })).sort((a, b) => a.t - b.t);
  if (!(windowS > 0) || !Number.isFinite(windowS)) throw new RangeError('windowS must be a finite number > 0');
  const windowMs = windowS * 1000;
  const last = rs[rs.length - 1]!.t;
  const mkt = (sum: number, n: number) => deltaHOverR / -Math.log(sum / n) - KELVIN;
  if (last - rs[0]!.t < windowMs) {
    const sum = rs.reduce((a, r) => a + r.term, 0);
    return { mktC: mkt(sum, rs.length), from: new Date(rs[0]!.t), to: new Date(last), readings: rs.length, completeWindow: false };
  }
  let best: RollingMkt | null = null;
  let end = 0; // exclusive
  let sum = 0;
  for (let i = 0; i < rs.length && rs[i]!.t + windowMs <= last; i++) {
    while (end < rs.length && rs[end]!.t < rs[i]!.t + windowMs) sum += rs[end++]!.term;
    const value = mkt(sum, end - i);
    if (best === null || value > best.mktC)
      best = { mktC: value, from: new Date(rs[i]!.t), to: new Date(rs[end - 1]!.t), readings: end - i, completeWindow: true };
    sum -= rs[i]!.term;
  }
  return best;
}

function excursionId(sensor: string, kind: ExcursionKind, startedAtMs: number): string {
  return `${sensor}:${kind}:${new Date(startedAtMs).toISOString()}`;
}

interface Settings {
  openMs: number;
  closeMs: number;
  gapMs: number;
  limits: ExcursionLimits;
  wantMkt: boolean;
}

/** Statistics over readings [start, end) of one sensor's sorted readings. */
function windowExcursion(sensor: string, kind: 'HIGH' | 'LOW', rs: readonly Reading[], start: number, end: number, closed: boolean, s: Settings): Excursion {
  const first = rs[start]!;
  const critical = kind === 'HIGH' ? isCriticalHigh : isCriticalLow;
  let peak = first;
  let sum = 0;
  let anyCritical = false;
  let doorReported = false;
  let doorMs = 0;
  const temps: number[] = [];
  for (let k = start; k < end; k++) {
    const r = rs[k]!;
    if (kind === 'HIGH' ? r.c > peak.c : r.c < peak.c) peak = r;
    sum += r.c;
    temps.push(r.c);
    if (critical(r.c, s.limits)) anyCritical = true;
    if (r.door !== null) doorReported = true;
    if (r.door === true) {
      // Held until the next reading; the last one of a closed window holds until endedAt (rs[end]).
      const next = rs[k + 1];
      if (next !== undefined) doorMs += Math.min(next.t - r.t, s.gapMs);
    }
  }
  const endMs = closed ? rs[end]!.t : rs[end - 1]!.t;
  const count = end - start;
  return {
    id: excursionId(sensor, kind, first.t),
    sensor,
    kind,
    severity: anyCritical ? 'CRITICAL' : 'WARNING',
    status: closed ? 'CLOSED' : 'OPEN',
    startedAt: new Date(first.t),
    endedAt: closed ? new Date(endMs) : null,
    durationS: (endMs - first.t) / 1000,
    peakC: peak.c,
    peakAt: new Date(peak.t),
    meanC: sum / count,
    readings: count,
    doorOpenS: doorReported ? doorMs / 1000 : null,
    mktC: s.wantMkt ? meanKineticTemperatureC(temps) : null,
  };
}

/** HIGH or LOW excursions of one sensor's sorted, de-duplicated readings. */
function sideExcursions(sensor: string, kind: 'HIGH' | 'LOW', rs: readonly Reading[], s: Settings): Excursion[] {
  const out = kind === 'HIGH' ? (c: number) => isHigh(c, s.limits) : (c: number) => isLow(c, s.limits);
  const critical = kind === 'HIGH' ? (c: number) => isCriticalHigh(c, s.limits) : (c: number) => isCriticalLow(c, s.limits);
  const found: Excursion[] = [];
  // idle: runStart = -1, open = false. candidate: runStart ≥ 0, open = false. open: open = true, backStart = in-range run or -1.
  let runStart = -1;
  let open = false;
  let backStart = -1;
  for (let k = 0; k < rs.length; k++) {
    const r = rs[k]!;
    const afterGap = k > 0 && r.t - rs[k - 1]!.t > s.gapMs;
    const isOut = out(r.c);
    if (!open) {
      if (!isOut) {
        runStart = -1;
        continue;
      }
      if (runStart === -1 || afterGap) runStart = k;
      if (critical(r.c) || r.t - rs[runStart]!.t >= s.openMs) {
        open = true;
        backStart = -1;
      }
      continue;
    }
    if (isOut) {
      backStart = -1;
      continue;
    }
    if (backStart === -1 || afterGap) backStart = k;
    if (r.t - rs[backStart]!.t >= s.closeMs) {
      found.push(windowExcursion(sensor, kind, rs, runStart, backStart, true, s));
      open = false;
      runStart = -1;
      backStart = -1;
    }
  }
  if (open) found.push(windowExcursion(sensor, kind, rs, runStart, rs.length, false, s));
  return found;
}

interface Span {
  from: number;
  to: number; // Infinity: still on board
}

function mergeSpans(spans: Span[]): Span[] {
  const sorted = spans.filter((x) => x.to > x.from).sort((a, b) => a.from - b.from || a.to - b.to);
  const merged: Span[] = [];
  for (const x of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && x.from <= last.to) last.to = Math.max(last.to, x.to);
    else merged.push({ ...x });
  }
  return merged;
}

function gapExcursion(sensor: string, startMs: number, endMs: number | null, nowMs: number): Excursion {
  const until = endMs ?? nowMs;
  return {
    id: excursionId(sensor, 'DATA_GAP', startMs),
    sensor,
    kind: 'DATA_GAP',
    severity: 'WARNING',
    status: endMs === null ? 'OPEN' : 'CLOSED',
    startedAt: new Date(startMs),
    endedAt: endMs === null ? null : new Date(endMs),
    durationS: (until - startMs) / 1000,
    peakC: null,
    peakAt: null,
    meanC: null,
    readings: 0,
    doorOpenS: null,
    mktC: null,
  };
}

/** DATA_GAP excursions of one sensor: silences longer than gapS while on board, after its first reading. */
function gapExcursions(sensor: string, rs: readonly Reading[], onBoard: readonly Span[], gapMs: number, nowMs: number | null): Excursion[] {
  const found: Excursion[] = [];
  if (rs.length === 0) return found;
  const silences: { a: number; b: number; trailing: boolean }[] = [];
  for (let k = 1; k < rs.length; k++) {
    const a = rs[k - 1]!.t;
    const b = rs[k]!.t;
    if (b - a > gapMs) silences.push({ a, b, trailing: false });
  }
  const last = rs[rs.length - 1]!.t;
  // After the last reading: silent until `now`, or (without `now`) up to a closed on-board interval's end.
  silences.push({ a: last, b: nowMs ?? Infinity, trailing: true });
  for (const { a, b, trailing } of silences) {
    for (const span of onBoard) {
      const start = Math.max(a, span.from);
      const end = Math.min(b, span.to);
      if (end === Infinity || !(end - start > gapMs)) continue;
      // Still silent at `now` and still on board at `now`: open.
      const stillOpen = trailing && nowMs !== null && end === nowMs && span.to > nowMs;
      found.push(gapExcursion(sensor, start, stillOpen ? null : end, nowMs ?? end));
    }
  }
  return found;
}

const KIND_ORDER: Record<ExcursionKind, number> = { HIGH: 0, LOW: 1, DATA_GAP: 2 };

/** Every excursion of the readings against the limits: see the header for the rules. */
export function evaluateExcursions(input: ExcursionInput): Excursion[] {
  const settings: Settings = {
    openMs: nonNegative(input.openAfterS, EXCURSION_DEFAULTS.openAfterS, 'openAfterS') * 1000,
    closeMs: nonNegative(input.closeAfterS, EXCURSION_DEFAULTS.closeAfterS, 'closeAfterS') * 1000,
    gapMs: nonNegative(input.gapS, EXCURSION_DEFAULTS.gapS, 'gapS') * 1000,
    limits: input.limits,
    wantMkt: input.limits.mktMax != null,
  };
  const nowMs = input.now === undefined ? null : toMs(input.now, 'now');
  const onBoard = mergeSpans(
    (input.onBoard ?? []).map((x) => ({ from: toMs(x.from, 'onBoard.from'), to: x.to === null ? Infinity : toMs(x.to, 'onBoard.to') })),
  );

  const bySensor = new Map<string, Map<number, Reading>>();
  for (const raw of input.readings) {
    const t = toMs(raw.recordedAt, 'recordedAt');
    if (!Number.isFinite(raw.temperatureC)) throw new RangeError('temperatureC must be a finite number');
    const reading: Reading = { t, c: raw.temperatureC, door: raw.doorOpen ?? null };
    let readings = bySensor.get(raw.sensor);
    if (readings === undefined) bySensor.set(raw.sensor, (readings = new Map()));
    const existing = readings.get(t);
    readings.set(t, existing === undefined ? reading : preferred(existing, reading));
  }

  const sensors = [...bySensor.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const result: Excursion[] = [];
  for (const sensor of sensors) {
    const rs = [...bySensor.get(sensor)!.values()].sort((a, b) => a.t - b.t);
    const found = [
      ...sideExcursions(sensor, 'HIGH', rs, settings),
      ...sideExcursions(sensor, 'LOW', rs, settings),
      ...gapExcursions(sensor, rs, onBoard, settings.gapMs, nowMs),
    ];
    found.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
    result.push(...found);
  }
  return result;
}

/**
 * Windowed evaluation (use-cases/excursions.ts evaluates only the part of a trip new readings
 * can change). The HIGH/LOW evaluation above is causal: walking one sensor's readings in time
 * order, its state after a reading depends only on that reading and the ones before it. After a
 * *settled* reading (in range on both sides, with no HIGH/LOW excursion running) the state is
 * idle, exactly as before the sensor's first reading. So evaluating the readings from a settled
 * reading onwards gives the same excursions from there on as evaluating the whole sensor, and
 * every excursion that started before it is final. (DATA_GAP excursions start at a reading or an
 * on-board start and end at the next reading, so those starting at or after the settled reading
 * are exactly the ones the window sees as well.)
 *
 * Whether a HIGH/LOW excursion runs at a time is known from the stored result of the previous
 * evaluation: from `startedAt` until it is confirmed closed, which is the first in-range reading
 * at least `closeAfterS` after `endedAt` (the closing run has no gap and no out-of-range reading,
 * or the excursion would not have ended at `endedAt`), so up to `endedAt + closeAfterS`
 * (exclusive); for ever while OPEN.
 */
export interface StoredRun {
  kind: ExcursionKind;
  startedAt: Date;
  endedAt: Date | null;
}

const runs = (stored: readonly StoredRun[], closeAfterS: number) =>
  stored
    .filter((x) => x.kind !== 'DATA_GAP')
    .map((x) => ({ from: x.startedAt.getTime(), to: x.endedAt === null ? Infinity : x.endedAt.getTime() + closeAfterS * 1000 }));

/**
 * The latest time before `beforeMs` that can hold a settled reading, given one sensor's stored
 * HIGH/LOW excursions: every reading in [result, beforeMs) lies inside a running excursion,
 * so the search for a settled reading may start below the result.
 */
export function settledSearchBound(beforeMs: number, stored: readonly StoredRun[], closeAfterS: number): number {
  const spans = runs(stored, closeAfterS);
  let bound = beforeMs;
  for (let moved = true; moved;) {
    moved = false;
    for (const s of spans) {
      if (s.from < bound && s.to >= bound) {
        bound = s.from;
        moved = true;
      }
    }
  }
  return bound;
}

/** Whether a reading of one sensor is settled (see above): in range on both sides, and no stored HIGH/LOW excursion of the sensor running at its time. */
export function isSettledReading(
  reading: { recordedAt: Date; temperatureC: number },
  stored: readonly StoredRun[],
  limits: ExcursionLimits,
  closeAfterS: number,
): boolean {
  if (isHigh(reading.temperatureC, limits) || isLow(reading.temperatureC, limits)) return false;
  const t = reading.recordedAt.getTime();
  return !runs(stored, closeAfterS).some((s) => s.from <= t && t < s.to);
}
