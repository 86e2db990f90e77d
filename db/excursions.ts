/** Temperature excursions of dispatches (the stored evaluation of domain/excursions.ts) and their corrective actions. */
import type { Db, Trx } from './knex.js';

export const CORRECTIVE_ACTIONS = [
  'ADJUSTED_SETPOINT',
  'CLOSED_DOOR',
  'REPAIRED_UNIT',
  'TRANSFERRED_LOAD',
  'RETURNED_TO_DEPOT',
  'INSPECTED_RELEASED',
  'QUARANTINED',
  'DISCARDED',
] as const;
export type CorrectiveAction = (typeof CORRECTIVE_ACTIONS)[number];

export interface ExcursionRow {
  id: number;
  dispatch_id: number;
  vehicle_id: number;
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
