/**
 * Driving-time rules of Korean freight law, as far as UVIS can see them (issue 18; DESIGN.md
 * "Dispatch suggestions"):
 *
 * - 화물자동차 운수사업법 시행규칙 (amended 2016-12): a commercial freight driver takes a break of at
 *   least 30 minutes after 4 hours of continuous driving.
 * - 근로기준법 제59조 ②: in the transport industries exempted from the weekly cap, a worker gets at
 *   least 11 consecutive hours of rest between the end of one working day and the start of the next.
 *
 * The approximation, written down so nobody mistakes it for a tachograph (DTG):
 * - Driving is the time a dispatch of the driver spends in PICKED_UP or IN_TRANSIT, from the
 *   dispatch status history (the first move into one of them starts it, the first move out ends it).
 *   Loading, waiting and driving to a pickup before PICKED_UP are not seen; neither is driving
 *   outside UVIS. The history is written by the dispatches worker a moment after each change.
 * - Continuous driving: driving intervals joined across gaps shorter than 30 minutes (the gap does
 *   not count as driving, nor as a break). A gap of 30 minutes or more, including the time since
 *   the last interval ended, is the break and starts the count again. A driver whose run reached
 *   4 hours is refused until 30 minutes after it ended: 4 h exactly is refused, 3 h 59 min is not.
 * - Working day: the calendar day in Korea (Asia/Seoul) on which a driving interval began; a trip
 *   that crosses midnight belongs to the day it started. A driver who has not driven yet today and
 *   whose last driving ended less than 11 hours ago would start a new working day without the rest:
 *   refused until 11 hours after that end. 11 h exactly is enough; 10 h 59 min is not. A driver who
 *   already drove today is within today's working day, and the rule does not apply again.
 *
 * Both rules look at the last 24 hours only: anything older cannot change either answer.
 */
import type { DispatchStatus } from './dispatch-status.js';
import { seoulDay } from './seoul-day.js';

export const CONTINUOUS_DRIVING_LIMIT_MS = 4 * 3600_000;
export const REQUIRED_BREAK_MS = 30 * 60_000;
export const DAILY_REST_MS = 11 * 3600_000;
/** How far back the rules look (see above). */
export const DRIVING_LOOKBACK_MS = 24 * 3600_000;

const DRIVING: readonly DispatchStatus[] = ['PICKED_UP', 'IN_TRANSIT'];

/** One row of a dispatch's status history. */
export interface StatusChange {
  dispatchId: number;
  to: DispatchStatus;
  at: Date;
}

/** Milliseconds since the epoch; `end` null while the driver is still driving. */
export interface DrivingInterval {
  start: number;
  end: number | null;
}

export type DrivingTimeCode = 'driving_break_required' | 'daily_rest_required';

export interface DrivingTimeRefusal {
  code: DrivingTimeCode;
  message: string;
  /** When the driver is within the rule again. */
  until: Date;
}

export interface DrivingTimeCheck {
  /** The current run of continuous driving (0 after a break of 30 minutes or more). */
  continuousDrivingMs: number;
  /** Time since the last driving ended; null when there is none in the window (or it goes on). */
  restMs: number | null;
  refusals: DrivingTimeRefusal[];
}

/** Driving intervals of one driver from the status history of their dispatches (any order), merged and sorted. */
export function drivingIntervals(changes: readonly StatusChange[]): DrivingInterval[] {
  const byDispatch = new Map<number, StatusChange[]>();
  for (const change of changes) {
    const list = byDispatch.get(change.dispatchId);
    if (list) list.push(change);
    else byDispatch.set(change.dispatchId, [change]);
  }
  const intervals: DrivingInterval[] = [];
  for (const list of byDispatch.values()) {
    list.sort((a, b) => a.at.getTime() - b.at.getTime());
    let start: number | null = null;
    for (const change of list) {
      const driving = DRIVING.includes(change.to);
      if (driving && start === null) start = change.at.getTime();
      else if (!driving && start !== null) {
        intervals.push({ start, end: change.at.getTime() });
        start = null;
      }
    }
    if (start !== null) intervals.push({ start, end: null });
  }
  intervals.sort((a, b) => a.start - b.start);
  // One active dispatch per driver makes overlaps impossible in UVIS's own data; merge them anyway.
  const merged: DrivingInterval[] = [];
  for (const interval of intervals) {
    const last = merged[merged.length - 1];
    if (last && (last.end === null || interval.start <= last.end)) {
      last.end = last.end === null || interval.end === null ? null : Math.max(last.end, interval.end);
    } else merged.push({ ...interval });
  }
  return merged;
}

const hm = (ms: number) => {
  const minutes = Math.floor(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
};

/**
 * Whether a driver may start a trip at `now` under both rules, and if not, until when. `todayStart`
 * (the start of now's Korean day) may be passed in by a caller that checks a whole fleet at once.
 */
export function checkDrivingTime(intervals: readonly DrivingInterval[], now: Date, todayStart?: number): DrivingTimeCheck {
  const at = now.getTime();
  let run = 0;
  let lastEnd: number | null = null;
  for (const interval of intervals) {
    const end = interval.end ?? at;
    if (lastEnd !== null && interval.start - lastEnd >= REQUIRED_BREAK_MS) run = 0;
    run += Math.max(0, end - interval.start);
    lastEnd = end;
  }
  const last = intervals[intervals.length - 1];
  const ongoing = last !== undefined && last.end === null;
  const restMs = lastEnd === null || ongoing ? null : at - lastEnd;
  if (restMs !== null && restMs >= REQUIRED_BREAK_MS) run = 0;

  const refusals: DrivingTimeRefusal[] = [];
  if (run >= CONTINUOUS_DRIVING_LIMIT_MS && lastEnd !== null) {
    refusals.push({
      code: 'driving_break_required',
      message: `${hm(run)} of continuous driving: a 30-minute break is due (화물자동차 운수사업법)`,
      until: new Date(lastEnd + REQUIRED_BREAK_MS),
    });
  }
  if (restMs !== null && restMs < DAILY_REST_MS && last !== undefined) {
    const dayStart = todayStart ?? seoulDay(now).start.getTime();
    const droveToday = intervals.some((i) => i.start >= dayStart);
    if (!droveToday) {
      refusals.push({
        code: 'daily_rest_required',
        message: `${hm(restMs)} of rest since the last working day: 11 hours are due before a new one (근로기준법 제59조)`,
        until: new Date((lastEnd as number) + DAILY_REST_MS),
      });
    }
  }
  return { continuousDrivingMs: run, restMs, refusals };
}
