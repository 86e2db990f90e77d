/** Temperature excursions of dispatches (the stored evaluation of domain/excursions.ts) and their corrective actions. */
import type { CorrectiveAction } from '../domain/corrective-actions.js';
import type { Db, Trx } from './knex.js';

/** The stored form of one evaluated excursion (domain/excursions.ts Excursion, rounded to the columns). */
export interface ExcursionValues {
  sensor: string;
  kind: 'HIGH' | 'LOW' | 'DATA_GAP';
  severity: 'WARNING' | 'CRITICAL';
  status: 'OPEN' | 'CLOSED';
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

/** numeric columns come back from pg as strings: numbers for the API. */
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function toRow(row: Record<string, unknown>): ExcursionRow {
  return { ...(row as unknown as ExcursionRow), peak_c: num(row.peak_c), mean_c: num(row.mean_c), mkt_c: num(row.mkt_c) };
}

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

/** What evaluating a dispatch needs: its vehicle, status, timestamps and its order's temperature fields. */
export interface DispatchForEvaluation {
  id: number;
  vehicle_id: number;
  status: string;
  updated_at: Date;
  finished_at: Date | null;
  cargo_type: string;
  temperature_profile: string | null;
  temp_min_c: number | null;
  temp_max_c: number | null;
}

export async function dispatchForEvaluation(db: Db | Trx, dispatchId: number): Promise<DispatchForEvaluation | undefined> {
  const row = await db('dispatches as d')
    .join('orders as o', 'o.id', 'd.order_id')
    .where('d.id', dispatchId)
    .first('d.id', 'd.vehicle_id', 'd.status', 'd.updated_at', 'd.finished_at', 'o.cargo_type', 'o.temperature_profile', 'o.temp_min_c', 'o.temp_max_c');
  return row ? { ...row, temp_min_c: num(row.temp_min_c), temp_max_c: num(row.temp_max_c) } : undefined;
}

/** Every reading of a dispatch, only the columns the evaluation reads (no order: the evaluation sorts). */
export async function readingsForEvaluation(db: Db | Trx, dispatchId: number) {
  const rows: { sensor: string; recorded_at: Date; temperature_c: string | number; door_open: boolean | null }[] = await db('temperature_readings')
    .where('dispatch_id', dispatchId)
    .select('sensor', 'recorded_at', 'temperature_c', 'door_open');
  return rows.map((r) => ({ sensor: r.sensor, recordedAt: r.recorded_at, temperatureC: Number(r.temperature_c), doorOpen: r.door_open }));
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
  return rows.map((r) => Number(r.id));
}

const identity = (x: { sensor: string; kind: string; started_at: Date }) => `${x.sensor}|${x.kind}|${x.started_at.toISOString()}`;

export interface ReconcileResult {
  /** The rows written, with the status they had before (null: new, or superseded before). */
  written: { row: ExcursionRow; previousStatus: 'OPEN' | 'CLOSED' | null }[];
  superseded: ExcursionRow[];
}

/**
 * Makes a dispatch's current excursions exactly `values`, in the caller's transaction (which
 * holds the dispatch's lock, so evaluations of one dispatch never interleave): each is upserted
 * on its identity (dispatch, sensor, kind, started_at), a superseded row whose identity comes
 * back is revived (with its actions), and current rows whose identity is gone are marked
 * superseded_at = now(). Rows are never deleted, never duplicated.
 */
export async function reconcileExcursions(trx: Trx, dispatchId: number, vehicleId: number, values: ExcursionValues[]): Promise<ReconcileResult> {
  const before = (await trx('temperature_excursions').where({ dispatch_id: dispatchId }).select('*')).map(toRow);
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
  const gone = before.filter((r) => r.superseded_at === null && !keep.has(identity(r))).map((r) => r.id);
  const superseded = gone.length
    ? (await trx('temperature_excursions').whereIn('id', gone).update({ superseded_at: trx.fn.now(), updated_at: trx.fn.now() }).returning('*')).map(toRow)
    : [];
  return { written, superseded };
}

/** A dispatch's current excursions that block completion: OPEN, or without any corrective action. */
export async function unresolvedExcursions(db: Db | Trx, dispatchId: number) {
  const rows = await listDispatchExcursions(db, dispatchId);
  return rows
    .filter((r) => r.status === 'OPEN' || r.actions.length === 0)
    .map((r) => ({ id: r.id, sensor: r.sensor, kind: r.kind, severity: r.severity, status: r.status, started_at: r.started_at, actions: r.actions.length }));
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
