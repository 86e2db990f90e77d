/**
 * The driving-time rules (domain/driving-time.ts) around their boundaries: 3 h 59 min against
 * 4 h 01 min of continuous driving, breaks of 29 and 30 minutes, 10 h 59 min against 11 h of rest
 * between working days, and the Korean calendar day that decides what a working day is.
 */
import { describe, expect, it } from 'vitest';
import { checkDrivingTime, drivingIntervals, type DrivingInterval, type StatusChange } from '../../domain/driving-time.js';

const MIN = 60_000;
const H = 60 * MIN;
/** 15:00 in Seoul: the day began 15 hours ago. */
const NOW = new Date('2026-11-30T15:00:00+09:00');
const at = (msBeforeNow: number) => NOW.getTime() - msBeforeNow;
/** A driving interval that ended `endedAgo` before NOW after `length` of driving. */
const drove = (length: number, endedAgo: number): DrivingInterval => ({ start: at(endedAgo + length), end: at(endedAgo) });
const codes = (intervals: DrivingInterval[], now = NOW) => checkDrivingTime(intervals, now).refusals.map((r) => r.code);

describe('intervals from the status history', () => {
  const change = (dispatchId: number, to: StatusChange['to'], msBeforeNow: number): StatusChange => ({ dispatchId, to, at: new Date(at(msBeforeNow)) });

  it('counts PICKED_UP and IN_TRANSIT as driving, from the first move into them to the first move out', () => {
    const intervals = drivingIntervals([
      change(1, 'ASSIGNED', 5 * H),
      change(1, 'ACCEPTED', 4.5 * H),
      change(1, 'PICKED_UP', 4 * H),
      change(1, 'IN_TRANSIT', 3 * H),
      change(1, 'DELIVERED', 1 * H),
      change(1, 'COMPLETED', 0.5 * H),
    ]);
    expect(intervals).toEqual([{ start: at(4 * H), end: at(1 * H) }]);
  });

  it('sees no driving in a dispatch that skipped from ASSIGNED to COMPLETED (the seed client does)', () => {
    expect(drivingIntervals([change(1, 'ASSIGNED', 2 * H), change(1, 'COMPLETED', 1 * H)])).toEqual([]);
  });

  it('keeps a trip still on the road open, and sorts the dispatches of a driver by time whatever order the rows come in', () => {
    const intervals = drivingIntervals([change(2, 'IN_TRANSIT', 1 * H), change(1, 'CANCELLED', 5 * H), change(1, 'PICKED_UP', 6 * H)]);
    expect(intervals).toEqual([
      { start: at(6 * H), end: at(5 * H) },
      { start: at(1 * H), end: null },
    ]);
  });
});

describe('4 hours of continuous driving, then a 30-minute break (화물자동차 운수사업법)', () => {
  it('lets a driver with 3 h 59 min of driving take another trip', () => {
    expect(codes([drove(3 * H + 59 * MIN, 5 * MIN)])).toEqual([]);
  });

  it('refuses a driver with 4 h 01 min of driving until 30 minutes after the driving ended', () => {
    const check = checkDrivingTime([drove(4 * H + MIN, 5 * MIN)], NOW);
    expect(check.refusals.map((r) => r.code)).toEqual(['driving_break_required']);
    expect(check.refusals[0]!.until).toEqual(new Date(at(5 * MIN) + 30 * MIN));
    expect(check.refusals[0]!.message).toMatch(/^4 h 01 min of continuous driving/);
    expect(check.continuousDrivingMs).toBe(4 * H + MIN);
  });

  it('refuses exactly 4 h: the break is due after 4 hours, not after more than 4', () => {
    expect(codes([drove(4 * H, 5 * MIN)])).toEqual(['driving_break_required']);
  });

  it('joins trips separated by less than 30 minutes (the gap is neither driving nor a break)', () => {
    const trips = [drove(2 * H, 2 * H + MIN + 29 * MIN + 5 * MIN), drove(2 * H + MIN, 5 * MIN)];
    expect(codes(trips)).toEqual(['driving_break_required']);
    expect(checkDrivingTime(trips, NOW).continuousDrivingMs).toBe(4 * H + MIN);
  });

  it('starts again after a gap of 30 minutes between trips', () => {
    expect(codes([drove(2 * H, 2 * H + MIN + 30 * MIN + 5 * MIN), drove(2 * H + MIN, 5 * MIN)])).toEqual([]);
  });

  it('counts the time since the last trip as the break: 29 minutes is not enough, 30 is', () => {
    expect(codes([drove(4 * H + MIN, 29 * MIN)])).toEqual(['driving_break_required']);
    expect(codes([drove(4 * H + MIN, 30 * MIN)])).toEqual([]);
  });
});

describe('11 hours of rest between working days (근로기준법 제59조)', () => {
  // 08:00 in Seoul: yesterday's driving ended in the evening.
  const MORNING = new Date('2026-11-30T08:00:00+09:00');
  const before = (ms: number) => MORNING.getTime() - ms;
  const yesterday = (length: number, endedAgo: number): DrivingInterval => ({ start: before(endedAgo + length), end: before(endedAgo) });

  it('refuses a driver whose last working day ended 10 h 59 min ago, until 11 hours after it', () => {
    const check = checkDrivingTime([yesterday(2 * H, 10 * H + 59 * MIN)], MORNING);
    expect(check.refusals.map((r) => r.code)).toEqual(['daily_rest_required']);
    expect(check.refusals[0]!.until).toEqual(new Date(before(10 * H + 59 * MIN) + 11 * H));
    expect(check.restMs).toBe(10 * H + 59 * MIN);
  });

  it('lets a driver start the day after exactly 11 hours of rest', () => {
    expect(codes([yesterday(2 * H, 11 * H)], MORNING)).toEqual([]);
  });

  it('does not apply again within a working day that already began today', () => {
    // Drove 06:00 to 07:00 today after a short night: the day has begun; 1 h since then is not a new day.
    const today = { start: before(2 * H), end: before(1 * H) };
    expect(codes([yesterday(2 * H, 10 * H), today], MORNING)).toEqual([]);
  });

  it('places a trip that crossed midnight on the day it started', () => {
    // 22:00 to 00:30: yesterday's working day; at 08:00 the rest is 7 h 30 min.
    const night = { start: new Date('2026-11-29T22:00:00+09:00').getTime(), end: new Date('2026-11-30T00:30:00+09:00').getTime() };
    expect(codes([night], MORNING)).toEqual(['daily_rest_required']);
    expect(codes([night], new Date('2026-11-30T11:30:00+09:00'))).toEqual([]);
  });

  it('reports both rules when both apply', () => {
    // 20:49 to 00:50, and it is 01:00: 4 h 01 min without a break, on a working day that began yesterday.
    const night = { start: new Date('2026-11-29T20:49:00+09:00').getTime(), end: new Date('2026-11-30T00:50:00+09:00').getTime() };
    expect(codes([night], new Date('2026-11-30T01:00:00+09:00'))).toEqual(['driving_break_required', 'daily_rest_required']);
    // The same trip seen at 08:00 the same morning (4 h 01 min of driving that began today instead): only the break.
    expect(codes([yesterday(4 * H + MIN, 10 * MIN)], MORNING)).toEqual(['driving_break_required']);
  });

  it('says nothing about a driver with no driving in the window or one still driving', () => {
    expect(checkDrivingTime([], MORNING)).toEqual({ continuousDrivingMs: 0, restMs: null, refusals: [] });
    expect(codes([{ start: before(H), end: null }], MORNING)).toEqual([]);
  });
});
