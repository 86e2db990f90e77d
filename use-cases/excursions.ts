/**
 * Temperature excursions (issue 15; DESIGN.md "Cold-chain telemetry and excursions"): evaluating a
 * dispatch's readings into stored excursions, and recording a corrective action.
 *
 * Evaluation (`evaluateDispatchExcursions`), decisions:
 * - One evaluation per dispatch per stored batch (jobs/telemetry.ts), and one per on-board dispatch
 *   per DATA_GAP sweep (`telemetry.evaluate-gaps`, every minute), never one per reading.
 * - Windowed (issue 15's ingest target): an evaluation looks only at the part of the trip new
 *   readings can change. The reading insert marks the dispatch pending from the batch's earliest
 *   reading (excursion_evaluations.pending_from, migration 0010, in the insert's statement). The
 *   evaluation takes that mark under the dispatch lock and, per sensor, restarts at the latest
 *   *settled* reading before it (in range, no stored HIGH/LOW excursion running: after it the
 *   evaluation's state is idle; domain/excursions.ts proves the cut and tests/unit checks it):
 *   readings from there on are evaluated, and only stored excursions starting there or later are
 *   reconciled. Those before it are final. A batch in time order therefore costs about its own
 *   size, not the trip's.
 * - The whole trip is evaluated instead when the stored excursions were computed against another
 *   basis (the order's limits, the open/close/gap settings or the on-board periods changed; the
 *   first evaluation of a dispatch), or when a sensor's restart point is not among its last 200
 *   readings before the window (a long run of out-of-range readings that never opened).
 * - Coalesced: an evaluation asked for by readings that finds nothing pending does nothing (the
 *   readings of its batch were taken by another evaluation, or it is a retried job whose earlier
 *   evaluation committed). The DATA_GAP sweep (trigger `clock`) always evaluates: the window is then
 *   each sensor's tail, from its last settled reading, which holds the trailing silence.
 * - Serialized per dispatch: the dispatch is locked the way every dispatch writer locks it (its
 *   order FOR UPDATE, then the dispatch FOR NO KEY UPDATE; db/dispatches.ts lockDispatch). Several
 *   workers evaluating one dispatch at once therefore run one after another, each over the readings
 *   committed so far, and the completion gate (use-cases/dispatches.ts) sees either the state before
 *   an evaluation or after it, never half of it.
 * - Limits: the order's, resolved by domain/temperature-profiles.ts limitsOfOrder.
 * - On board (for DATA_GAP): the PICKED_UP / IN_TRANSIT periods of dispatch_status_history. That
 *   history is written by the dispatches worker from the outbox, moments after the change commits;
 *   when it lags, the dispatch row itself decides: a dispatch on board now whose history shows no
 *   open on-board period is taken as on board since its last update (`updated_at`), and a history
 *   period still open for a dispatch no longer on board ends at its `finished_at` (or `updated_at`).
 *   The approximation errs towards a later start: a silence in the lag's seconds is not flagged.
 * - Storage: db/excursions.ts reconcileExcursions (one row per identity, superseded rows kept).
 *   A superseded row keeps its actions where they are (no copy to the row that replaced it): the
 *   action was taken on what was known then, and the record shows it; the new row needs its own.
 *   If the identity comes back, the row is revived with its actions.
 * - Live events: after the commit, one `excursion` event per excursion that appeared or changed status.
 */
import { evaluateExcursions, isSettledReading, settledSearchBound, type Excursion, type ExcursionLimits, type OnBoardInterval } from '../domain/excursions.js';
import { limitsOfOrder } from '../domain/temperature-profiles.js';
import { lockDispatch, type DispatchRow } from '../db/dispatches.js';
import {
  dispatchExcursionRows,
  getExcursion,
  insertAction,
  readingsForEvaluation,
  reconcileExcursions,
  saveEvaluationState,
  sensorReadingsBefore,
  statusHistoryForEvaluation,
  takeEvaluationState,
  type ActionRow,
  type EvaluationReading,
  type ExcursionRow,
  type ExcursionValues,
} from '../db/excursions.js';
import type { CorrectiveAction } from '../domain/corrective-actions.js';
import { NotFoundError } from '../lib/errors/index.js';
import type { LiveEvent } from '../lib/live-events.js';
import { announceWebhook } from './announce.js';
import type { Tx } from './transaction.js';

export interface EvaluationSettings {
  openAfterS: number;
  closeAfterS: number;
  gapS: number;
}

export interface EvaluationDeps {
  excursions: EvaluationSettings;
  live?: { publish(event: LiveEvent): void };
}

const ON_BOARD = new Set(['PICKED_UP', 'IN_TRANSIT']);

/** The periods the cargo was on board, from the status history, corrected by the dispatch row when the history lags (see the header). */
export function onBoardIntervals(
  history: readonly { to_status: string; changed_at: Date }[],
  dispatch: Pick<DispatchRow, 'status' | 'updated_at' | 'finished_at'>,
): OnBoardInterval[] {
  const intervals: OnBoardInterval[] = [];
  let from: Date | null = null;
  for (const h of history) {
    if (ON_BOARD.has(h.to_status)) from ??= h.changed_at;
    else if (from !== null) {
      intervals.push({ from, to: h.changed_at });
      from = null;
    }
  }
  const onBoardNow = ON_BOARD.has(dispatch.status);
  if (from !== null) intervals.push({ from, to: onBoardNow ? null : (dispatch.finished_at ?? dispatch.updated_at) });
  else if (onBoardNow) intervals.push({ from: dispatch.updated_at, to: null });
  return intervals;
}

const round2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);

function toValues(e: Excursion): ExcursionValues {
  return {
    sensor: e.sensor,
    kind: e.kind,
    severity: e.severity,
    status: e.status,
    started_at: e.startedAt,
    ended_at: e.endedAt,
    duration_s: Math.round(e.durationS),
    peak_c: round2(e.peakC),
    peak_at: e.peakAt,
    mean_c: round2(e.meanC),
    readings: e.readings,
    door_open_s: e.doorOpenS === null ? null : Math.round(e.doorOpenS),
    mkt_c: round2(e.mktC),
  };
}

function liveEvent(row: ExcursionRow): LiveEvent {
  return {
    type: 'excursion',
    excursion_id: row.id,
    dispatch_id: row.dispatch_id,
    vehicle_id: row.vehicle_id,
    sensor: row.sensor,
    kind: row.kind,
    severity: row.severity,
    status: row.status,
    started_at: row.started_at.toISOString(),
    ended_at: row.ended_at?.toISOString() ?? null,
    at: new Date().toISOString(),
  };
}

function excursionData(row: ExcursionRow, orderId: number, clientId: number) {
  return {
    excursion_id: row.id,
    dispatch_id: row.dispatch_id,
    order_id: orderId,
    client_id: clientId,
    vehicle_id: row.vehicle_id,
    sensor: row.sensor,
    kind: row.kind,
    severity: row.severity,
    status: row.status,
    started_at: row.started_at,
    ended_at: row.ended_at,
    duration_s: row.duration_s,
    peak_c: row.peak_c,
    mean_c: row.mean_c,
  };
}

/**
 * The shipper's excursion events, written in the evaluation's transaction: opened when an excursion
 * first appears, closed when it closes. One found already closed (an offline buffer uploaded late)
 * sends both, in that order. A superseded excursion (a late reading moved its start) sends nothing
 * more: its replacement is a new excursion, announced as such.
 */
async function announceExcursionWebhooks(tx: Tx, row: ExcursionRow, previous: 'OPEN' | 'CLOSED' | null, clientId: number, orderId: number): Promise<void> {
  if (previous === row.status) return;
  if (previous === null) await announceWebhook(tx, 'temperature.excursion_opened', clientId, excursionData(row, orderId, clientId), row.started_at);
  if (row.status === 'CLOSED')
    await announceWebhook(tx, 'temperature.excursion_closed', clientId, excursionData(row, orderId, clientId), row.ended_at ?? new Date());
}

export interface EvaluationResult {
  /** Excursions found in the readings evaluated (the window's, or the whole trip's). */
  excursions: number;
  /** Readings evaluated. */
  readings: number;
  /** Whether only a window of the trip was evaluated. */
  windowed: boolean;
  /** Nothing to do: the readings that asked had been evaluated by another evaluation. */
  skipped: boolean;
  written: number;
  superseded: number;
  /** Excursions that appeared or changed status (published live after the commit). */
  changed: ExcursionRow[];
}

const NOTHING: EvaluationResult = { excursions: 0, readings: 0, windowed: false, skipped: false, written: 0, superseded: 0, changed: [] };

/** What asked for an evaluation: stored readings (nothing to do when another evaluation already took them), or the clock (the DATA_GAP sweep). */
export type EvaluationTrigger = 'readings' | 'clock';

/** How many of a sensor's readings before the window are searched for a restart point before falling back to the whole trip. */
const RESTART_SEARCH_READINGS = 200;

interface Window {
  /** Per sensor, the first reading time evaluated (null: the whole sensor). */
  starts: Map<string, Date | null>;
  readings: EvaluationReading[];
}

/**
 * The readings a windowed evaluation needs: per known sensor, from its latest settled reading
 * before `from` (domain/excursions.ts), and every reading at or after `from`. undefined when a
 * sensor's restart point is not among the RESTART_SEARCH_READINGS readings searched: the caller
 * evaluates the whole trip instead.
 */
async function windowFor(
  trx: Tx['trx'],
  dispatchId: number,
  from: Date | null,
  sensors: readonly string[],
  stored: readonly ExcursionRow[],
  limits: ExcursionLimits,
  closeAfterS: number,
): Promise<Window | undefined> {
  const starts = new Map<string, Date | null>();
  for (const sensor of sensors) {
    const own = stored
      .filter((x) => x.superseded_at === null && x.sensor === sensor)
      .map((x) => ({ kind: x.kind, startedAt: x.started_at, endedAt: x.ended_at }));
    const bound = from === null ? null : new Date(settledSearchBound(from.getTime(), own, closeAfterS));
    const before = await sensorReadingsBefore(trx, dispatchId, sensor, bound, RESTART_SEARCH_READINGS);
    const settled = before.find((r) => isSettledReading(r, own, limits, closeAfterS));
    if (settled) starts.set(sensor, settled.recordedAt);
    else if (before.length < RESTART_SEARCH_READINGS)
      starts.set(sensor, null); // no settled reading at all: from its first reading
    else return undefined;
  }
  const known = [...starts.values()];
  // One range read for every sensor: from the earliest restart point (or `from`), trimmed per sensor below.
  const earliest = known.includes(null) ? null : [from, ...known].reduce<Date | null>((a, b) => (a === null || (b !== null && b < a) ? b : a), null);
  const readings = (await readingsForEvaluation(trx, dispatchId, earliest)).filter((r) => {
    const start = starts.get(r.sensor);
    return start === undefined ? from === null || r.recordedAt >= from : start === null || r.recordedAt >= start;
  });
  return { starts, readings };
}

/**
 * Evaluates one dispatch at `now` and stores the result (see the header); undefined for an
 * unknown dispatch, `skipped` when readings asked and another evaluation had already taken them.
 */
export async function evaluateDispatchExcursions(
  tx: Tx,
  deps: EvaluationDeps,
  dispatchId: number,
  now: Date = new Date(),
  trigger: EvaluationTrigger = 'clock',
): Promise<EvaluationResult | undefined> {
  const { trx } = tx;
  const locked = await lockDispatch(trx, dispatchId);
  if (!locked) return undefined;
  const { dispatch, order } = locked;
  const state = await takeEvaluationState(trx, dispatchId);
  if (trigger === 'readings' && state !== undefined && state.pending_from === null) return { ...NOTHING, skipped: true };
  const [history, stored] = await Promise.all([statusHistoryForEvaluation(trx, dispatchId), dispatchExcursionRows(trx, dispatchId)]);
  const { limits } = limitsOfOrder(order);
  const { openAfterS, closeAfterS, gapS } = deps.excursions;
  const onBoard = onBoardIntervals(history, dispatch);
  const basis = JSON.stringify({ limits, openAfterS, closeAfterS, gapS, onBoard });

  // Windowed when the stored excursions were computed against the same basis; the whole trip otherwise.
  const window =
    state !== undefined && state.basis === basis ? await windowFor(trx, dispatchId, state.pending_from, state.sensors, stored, limits, closeAfterS) : undefined;
  const readings = window?.readings ?? (await readingsForEvaluation(trx, dispatchId));
  const excursions = evaluateExcursions({ readings, limits, openAfterS, closeAfterS, gapS, onBoard, now });
  const inWindow = (x: { sensor: string; started_at: Date }) => {
    if (window === undefined) return true;
    const start = window.starts.get(x.sensor);
    // A sensor first heard from in this window: all of it is in the window.
    return start === undefined ? true : start === null || x.started_at >= start;
  };
  const { written, superseded } = await reconcileExcursions(
    trx,
    { id: dispatch.id, vehicleId: dispatch.vehicle_id, stored },
    excursions.map(toValues),
    inWindow,
  );
  const sensors = [...new Set([...(state?.sensors ?? []), ...readings.map((r) => r.sensor)])].sort();
  await saveEvaluationState(trx, dispatchId, { basis, sensors });

  const changed = written.filter((w) => w.previousStatus !== w.row.status).map((w) => w.row);
  for (const w of written) await announceExcursionWebhooks(tx, w.row, w.previousStatus, order.client_id, dispatch.order_id);
  if (deps.live && changed.length > 0) {
    const live = deps.live;
    tx.afterCommit(() => {
      for (const row of changed) live.publish(liveEvent(row));
    });
  }
  return {
    excursions: excursions.length,
    readings: readings.length,
    windowed: window !== undefined,
    skipped: false,
    written: written.length,
    superseded: superseded.length,
    changed,
  };
}

export interface ActionInput {
  excursionId: number;
  action: CorrectiveAction;
  note: string | null;
  by: number;
}

/**
 * Records a corrective action on a current excursion; 404 for an unknown or superseded one. The
 * dispatch is locked first (order, then dispatch), so an action and a completion of the same
 * dispatch never interleave. An action may be recorded on an OPEN excursion (it does not close it:
 * only readings back in range do) and after the dispatch is finished (the record may be completed later).
 */
export async function recordExcursionAction(tx: Tx, input: ActionInput): Promise<{ action: ActionRow; excursion: ExcursionRow }> {
  const found = await getExcursion(tx.trx, input.excursionId);
  if (!found) throw new NotFoundError('excursion');
  await lockDispatch(tx.trx, found.dispatch_id);
  // Read again under the lock: an evaluation may have superseded it meanwhile.
  const excursion = await getExcursion(tx.trx, input.excursionId);
  if (!excursion || excursion.superseded_at !== null) throw new NotFoundError('excursion');
  const action = await insertAction(tx.trx, { excursion_id: excursion.id, action: input.action, note: input.note, created_by: input.by });
  return { action, excursion };
}
