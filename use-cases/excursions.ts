/**
 * Temperature excursions (issue 15; DESIGN.md "Cold-chain telemetry and excursions"): evaluating a
 * dispatch's readings into stored excursions, and recording a corrective action.
 *
 * Evaluation (`evaluateDispatchExcursions`), decisions:
 * - One evaluation per dispatch per stored batch (jobs/telemetry.ts), and one per on-board dispatch
 *   per DATA_GAP sweep (`telemetry.evaluate-gaps`, every minute), never one per reading.
 * - It evaluates every reading of the dispatch (domain/excursions.ts is a pure function over the
 *   whole set; the result must be the same whatever order readings arrived in). Evaluating only the
 *   affected window is not done: an excursion's start and the gap rule depend on readings before
 *   the window, so a correct window is not simple. Measured on the 2-core test machine: about 20 ms
 *   for a dispatch with 1,440 readings (a day at one a minute), about 300 ms with 86,400 (a day at
 *   one a second); the cost grows with the trip, not with the batch. A windowed evaluation (from the
 *   start of the earliest excursion still affected) is the next step if the benchmark needs it.
 * - Serialized per dispatch: the dispatch is locked the way every dispatch writer locks it (its
 *   order FOR UPDATE, then the dispatch FOR NO KEY UPDATE; db/dispatches.ts lockDispatch). Several
 *   workers evaluating one dispatch at once therefore run one after another, each over the readings
 *   committed so far, and the completion gate (use-cases/dispatches.ts) sees either the state before
 *   an evaluation or after it, never half of it.
 * - Limits: the order's, resolved by domain/temperature-profiles.ts resolveOrderLimits.
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
import { evaluateExcursions, type Excursion, type OnBoardInterval } from '../domain/excursions.js';
import { resolveOrderLimits } from '../domain/temperature-profiles.js';
import { lockDispatch, type DispatchRow } from '../db/dispatches.js';
import {
  getExcursion,
  insertAction,
  readingsForEvaluation,
  reconcileExcursions,
  statusHistoryForEvaluation,
  type ActionRow,
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
  excursions: number;
  written: number;
  superseded: number;
  /** Excursions that appeared or changed status (published live after the commit). */
  changed: ExcursionRow[];
}

/** Evaluates one dispatch's readings at `now` and stores the result; undefined for an unknown dispatch. */
export async function evaluateDispatchExcursions(
  tx: Tx,
  deps: EvaluationDeps,
  dispatchId: number,
  now: Date = new Date(),
): Promise<EvaluationResult | undefined> {
  const { trx } = tx;
  const locked = await lockDispatch(trx, dispatchId);
  if (!locked) return undefined;
  const { dispatch, order } = locked;
  const [readings, history] = await Promise.all([readingsForEvaluation(trx, dispatchId), statusHistoryForEvaluation(trx, dispatchId)]);
  const { limits } = resolveOrderLimits({
    cargo_class: order.cargo_type,
    temperature_profile: order.temperature_profile,
    temp_min_c: order.temp_min_c,
    temp_max_c: order.temp_max_c,
  });
  const excursions = evaluateExcursions({
    readings,
    limits,
    openAfterS: deps.excursions.openAfterS,
    closeAfterS: deps.excursions.closeAfterS,
    gapS: deps.excursions.gapS,
    onBoard: onBoardIntervals(history, dispatch),
    now,
  });
  const { written, superseded } = await reconcileExcursions(trx, dispatch.id, dispatch.vehicle_id, excursions.map(toValues));
  const changed = written.filter((w) => w.previousStatus !== w.row.status).map((w) => w.row);
  for (const w of written) await announceExcursionWebhooks(tx, w.row, w.previousStatus, order.client_id, dispatch.order_id);
  if (deps.live && changed.length > 0) {
    const live = deps.live;
    tx.afterCommit(() => {
      for (const row of changed) live.publish(liveEvent(row));
    });
  }
  return { excursions: excursions.length, written: written.length, superseded: superseded.length, changed };
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
