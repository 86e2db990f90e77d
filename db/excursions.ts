/** Temperature excursions of dispatches (the stored evaluation of domain/excursions.ts) and their corrective actions. */
import type { CorrectiveAction } from '../domain/corrective-actions.js';
import type { ExcursionKind, ExcursionSeverity, ExcursionStatus } from '../domain/excursions.js';
import type { Db, Trx } from './knex.js';

/** The stored form of one evaluated excursion (domain/excursions.ts Excursion, rounded to the columns). */
export interface ExcursionValues {
  sensor: string;
  kind: ExcursionKind;
  severity: ExcursionSeverity;
  status: ExcursionStatus;
  started_at: Date;
  ended_at: Date | null;
  duration_s: number;
  peak_c: number | null;
  peak_at: Date | null;
  mean_c: number | null;
  readings: number;
  door_open_s: number | null;
  mkt_c: number | null;
}

export interface ExcursionRow extends ExcursionValues {
  id: number;
  dispatch_id: number;
  vehicle_id: number;
  superseded_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ActionRow {
  id: number;
  excursion_id: number;
  action: CorrectiveAction;
  note: string | null;
  created_by: number | null;
  created_at: Date;
}

// numeric and bigint columns arrive as numbers already (the type parsers in db/knex.ts).
const toRow = (row: Record<string, unknown>) => row as unknown as ExcursionRow;

/** A dispatch's current excursions (not superseded), oldest first, each with its actions in time order. */
export async function listDispatchExcursions(db: Db | Trx, dispatchId: number): Promise<(ExcursionRow & { actions: ActionRow[] })[]> {
  const rows = (
    await db('temperature_excursions')
      .where({ dispatch_id: dispatchId })
      .whereNull('superseded_at')
      .orderBy([{ column: 'started_at' }, { column: 'id' }])
  ).map(toRow);
  const actions: ActionRow[] = rows.length
    ? await db('excursion_actions')
        .whereIn(
          'excursion_id',
          rows.map((r) => r.id),
        )
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
    : [];
  return rows.map((row) => ({ ...row, actions: actions.filter((a) => a.excursion_id === row.id) }));
}

/** Every excursion row of a dispatch, superseded ones included (what reconcileExcursions compares against). */
export async function dispatchExcursionRows(trx: Trx, dispatchId: number): Promise<ExcursionRow[]> {
  return (await trx('temperature_excursions').where({ dispatch_id: dispatchId }).select('*')).map(toRow);
}

export async function getExcursion(db: Db | Trx, id: number): Promise<ExcursionRow | undefined> {
  const row = await db('temperature_excursions').where({ id }).first();
  return row ? toRow(row) : undefined;
}

export async function insertAction(
  trx: Trx,
  action: { excursion_id: number; action: CorrectiveAction; note: string | null; created_by: number },
): Promise<ActionRow> {
  const [row] = await trx('excursion_actions').insert(action).returning('*');
  return row;
}

export interface EvaluationReading {
  sensor: string;
  recordedAt: Date;
  temperatureC: number;
  doorOpen: boolean | null;
}

// recorded_at as epoch milliseconds (a float8 column parses with parseFloat): parsing timestamp
// text into Dates was a visible part of the telemetry worker's CPU (docs/performance.md).
const readingColumns = (db: Db | Trx) => ['sensor', 'temperature_c', 'door_open', db.raw('(extract(epoch from recorded_at) * 1000)::float8 as recorded_ms')];
const toEvaluationReading = (r: { sensor: string; recorded_ms: number; temperature_c: number; door_open: boolean | null }): EvaluationReading => ({
  sensor: r.sensor,
  recordedAt: new Date(r.recorded_ms),
  temperatureC: r.temperature_c,
  doorOpen: r.door_open,
});

/** A dispatch's readings at or after `from` (every reading without it), only the columns the evaluation reads (no order: the evaluation sorts). */
export async function readingsForEvaluation(db: Db | Trx, dispatchId: number, from: Date | null = null): Promise<EvaluationReading[]> {
  const query = db('temperature_readings').where('dispatch_id', dispatchId).select(readingColumns(db));
  if (from !== null) query.where('recorded_at', '>=', from);
  return (await query).map(toEvaluationReading);
}

/** One sensor's latest `limit` readings before `before` (all times without it), latest first: where a windowed evaluation looks for its restart point. */
export async function sensorReadingsBefore(db: Db | Trx, dispatchId: number, sensor: string, before: Date | null, limit: number): Promise<EvaluationReading[]> {
  const query = db('temperature_readings').where({ dispatch_id: dispatchId, sensor }).orderBy('recorded_at', 'desc').limit(limit).select(readingColumns(db));
  if (before !== null) query.where('recorded_at', '<', before);
  return (await query).map(toEvaluationReading);
}

export interface EvaluationState {
  pending_from: Date | null;
  basis: string | null;
  sensors: string[];
}

/**
 * Takes a dispatch's evaluation bookkeeping (migration 0010) for the caller's transaction, which
 * holds the dispatch lock: FOR UPDATE waits for a reading insert still holding the row, so the
 * readings that insert committed are visible to the caller's next statement. undefined when the
 * dispatch never had a reading.
 */
export async function takeEvaluationState(trx: Trx, dispatchId: number): Promise<EvaluationState | undefined> {
  return trx('excursion_evaluations').where({ dispatch_id: dispatchId }).forUpdate().first('pending_from', 'basis', 'sensors');
}

/** Records an evaluation: nothing pending any more, what it was computed against, and the sensors seen. */
export async function saveEvaluationState(trx: Trx, dispatchId: number, state: { basis: string; sensors: string[] }): Promise<void> {
  await trx('excursion_evaluations')
    .insert({ dispatch_id: dispatchId, pending_from: null, basis: state.basis, sensors: state.sensors, evaluated_at: trx.fn.now() })
    .onConflict('dispatch_id')
    .merge(['pending_from', 'basis', 'sensors', 'evaluated_at']);
}

/** A dispatch's status history (changed_at order), for the periods its cargo was on board. */
export function statusHistoryForEvaluation(db: Db | Trx, dispatchId: number): Promise<{ to_status: string; changed_at: Date }[]> {
  return db('dispatch_status_history')
    .where('dispatch_id', dispatchId)
    .orderBy([{ column: 'changed_at' }, { column: 'id' }])
    .select('to_status', 'changed_at');
}

/**
 * The DATA_GAP sweep's work: dispatches with their cargo on board (PICKED_UP, IN_TRANSIT) that have
 * at least one reading, and dispatches with a current OPEN DATA_GAP whatever their status (a gap open
 * when the cargo left the truck closes at that moment, which only a re-evaluation records). Only
 * DATA_GAP depends on the clock; HIGH and LOW change only with readings, which trigger their own evaluation.
 */
export async function dispatchesToSweep(db: Db): Promise<number[]> {
  const rows: { id: number }[] = await db
    .select('d.id')
    .from('dispatches as d')
    .whereIn('d.status', ['PICKED_UP', 'IN_TRANSIT'])
    .whereExists((q) => q.select(db.raw('1')).from('temperature_readings as t').where('t.dispatch_id', db.ref('d.id')))
    .union((q) =>
      q.select('e.dispatch_id as id').from('temperature_excursions as e').whereNull('e.superseded_at').where({ 'e.status': 'OPEN', 'e.kind': 'DATA_GAP' }),
    )
    .orderBy('id');
  return rows.map((r) => r.id);
}

const identity = (x: { sensor: string; kind: string; started_at: Date }) => `${x.sensor}|${x.kind}|${x.started_at.toISOString()}`;

export interface ReconcileResult {
  /** The rows written, with the status they had before (null: new, or superseded before). */
  written: { row: ExcursionRow; previousStatus: 'OPEN' | 'CLOSED' | null }[];
  superseded: ExcursionRow[];
}

/**
 * Makes a dispatch's current excursions in `scope` exactly `values` (all of which are in scope),
 * in the caller's transaction (which holds the dispatch's lock, so evaluations of one dispatch
 * never interleave): each is upserted on its identity (dispatch, sensor, kind, started_at), a
 * superseded row whose identity comes back is revived (with its actions), and current rows in
 * scope whose identity is gone are marked superseded_at = now(). Rows out of scope are left as
 * they are (a windowed evaluation's scope: per sensor, from its restart point). Rows are never
 * deleted, never duplicated.
 */
export async function reconcileExcursions(
  trx: Trx,
  dispatch: { id: number; vehicleId: number; stored: ExcursionRow[] },
  values: ExcursionValues[],
  scope: (x: Pick<ExcursionValues, 'sensor' | 'started_at'>) => boolean = () => true,
): Promise<ReconcileResult> {
  const { id: dispatchId, vehicleId, stored: before } = dispatch;
  const previous = new Map(before.map((r) => [identity(r), r]));
  const written: ReconcileResult['written'] = [];
  for (const v of values) {
    const old = previous.get(identity(v));
    if (
      old &&
      old.superseded_at === null &&
      old.severity === v.severity &&
      old.status === v.status &&
      (old.ended_at?.getTime() ?? null) === (v.ended_at?.getTime() ?? null) &&
      old.duration_s === v.duration_s &&
      old.readings === v.readings &&
      old.peak_c === v.peak_c &&
      old.mean_c === v.mean_c &&
      old.door_open_s === v.door_open_s &&
      old.mkt_c === v.mkt_c
    ) {
      continue; // unchanged: no write (most batches extend nothing but the in-range tail)
    }
    const [row] = await trx('temperature_excursions')
      .insert({ dispatch_id: dispatchId, vehicle_id: vehicleId, ...v })
      .onConflict(['dispatch_id', 'sensor', 'kind', 'started_at'])
      .merge({ ...v, superseded_at: null, updated_at: trx.fn.now() })
      .returning('*');
    written.push({ row: toRow(row), previousStatus: old && old.superseded_at === null ? old.status : null });
  }
  const keep = new Set(values.map(identity));
  const gone = before.filter((r) => r.superseded_at === null && scope(r) && !keep.has(identity(r))).map((r) => r.id);
  const superseded = gone.length
    ? (await trx('temperature_excursions').whereIn('id', gone).update({ superseded_at: trx.fn.now(), updated_at: trx.fn.now() }).returning('*')).map(toRow)
    : [];
  return { written, superseded };
}

/**
 * The completion gate's rule, as SQL over `temperature_excursions e`: an excursion blocks
 * completion while it is OPEN or has no corrective action. The gate (below) and the
 * dashboard's counts (db/dashboard.ts) both use it.
 */
export const UNRESOLVED_EXCURSION_SQL = `(e.status = 'OPEN' or not exists (select 1 from excursion_actions a where a.excursion_id = e.id))`;

/** A dispatch's current excursions that block completion, oldest first, with how many actions each has. */
export function unresolvedExcursions(
  db: Db | Trx,
  dispatchId: number,
): Promise<(Pick<ExcursionRow, 'id' | 'sensor' | 'kind' | 'severity' | 'status' | 'started_at'> & { actions: number })[]> {
  return db('temperature_excursions as e')
    .where('e.dispatch_id', dispatchId)
    .whereNull('e.superseded_at')
    .whereRaw(UNRESOLVED_EXCURSION_SQL)
    .orderBy([{ column: 'e.started_at' }, { column: 'e.id' }])
    .select(
      'e.id',
      'e.sensor',
      'e.kind',
      'e.severity',
      'e.status',
      'e.started_at',
      db.raw('(select count(*)::int from excursion_actions a where a.excursion_id = e.id) as actions'),
    );
}

/** Current OPEN excursions by severity (the uvis_temperature_excursions_open gauge). */
export async function openExcursionCounts(db: Db): Promise<Record<'WARNING' | 'CRITICAL', number>> {
  const rows: { severity: 'WARNING' | 'CRITICAL'; n: number }[] = await db('temperature_excursions')
    .whereNull('superseded_at')
    .where('status', 'OPEN')
    .groupBy('severity')
    .select('severity', db.raw('count(*)::int as n'));
  const counts = { WARNING: 0, CRITICAL: 0 };
  for (const r of rows) counts[r.severity] = r.n;
  return counts;
}
