/** Stored dispatch plans (migration 0016) and the row locks their application takes. */
import type { Db, Trx } from './knex.js';

export interface PlanAssignment {
  order_id: number;
  vehicle_id: number;
  driver_id: number;
  score: number;
  distance_km: number | null;
}

export interface PlanReason {
  code: string;
  message: string;
  /** How many vehicle-driver pairs a reason excluded, where it counts pairs. */
  pairs?: number;
}

export interface PlanUnassigned {
  order_id: number;
  reasons: PlanReason[];
}

export interface PlanStats {
  orders: number;
  vehicles: number;
  pairs: number;
  solver_ms: number;
  greedy: { assigned: number; total_score: number };
}

export interface DispatchPlanRow {
  id: number;
  created_by: number | null;
  created_at: Date;
  expires_at: Date;
  order_ids: number[];
  fingerprint: string;
  inputs: string[];
  assignments: PlanAssignment[];
  unassigned: PlanUnassigned[];
  total_score: number;
  stats: PlanStats;
  applied_at: Date | null;
  applied_by: number | null;
  dispatch_ids: number[] | null;
}

/** node-postgres reads bigint[] as strings (only the scalar int8 has a parser, db/knex.ts): ids as numbers. */
function fromRow(row: DispatchPlanRow | undefined): DispatchPlanRow | undefined {
  if (!row) return undefined;
  return { ...row, order_ids: row.order_ids.map(Number), dispatch_ids: row.dispatch_ids === null ? null : row.dispatch_ids.map(Number) };
}

export function toPlan(row: DispatchPlanRow) {
  return {
    id: row.id,
    created_at: row.created_at,
    expires_at: row.expires_at,
    assignments: row.assignments,
    unassigned: row.unassigned,
    total_score: row.total_score,
    stats: row.stats,
    applied_at: row.applied_at,
    dispatch_ids: row.dispatch_ids,
  };
}

export async function insertPlan(db: Db | Trx, data: Omit<DispatchPlanRow, 'id' | 'applied_at' | 'applied_by' | 'dispatch_ids'>): Promise<DispatchPlanRow> {
  const [row] = await db('dispatch_plans')
    .insert({
      ...data,
      inputs: JSON.stringify(data.inputs),
      assignments: JSON.stringify(data.assignments),
      unassigned: JSON.stringify(data.unassigned),
      stats: JSON.stringify(data.stats),
    })
    .returning('*');
  return fromRow(row)!;
}

export async function getPlan(db: Db | Trx, id: number): Promise<DispatchPlanRow | undefined> {
  return fromRow(await db('dispatch_plans').where({ id }).first());
}

/** The plan, locked: two applications of one plan queue up here and the second sees the first's result. */
export async function lockPlan(trx: Trx, id: number): Promise<DispatchPlanRow | undefined> {
  return fromRow(await trx('dispatch_plans').where({ id }).forUpdate().first());
}

export async function markPlanApplied(trx: Trx, id: number, by: number, dispatchIds: number[]): Promise<DispatchPlanRow> {
  const [row] = await trx('dispatch_plans').where({ id }).update({ applied_at: trx.fn.now(), applied_by: by, dispatch_ids: dispatchIds }).returning('*');
  return fromRow(row)!;
}

/** Plans past their expiry for longer than `keepMs`: nothing can apply them any more. */
export function deleteExpiredPlans(db: Db | Trx, before: Date): Promise<number> {
  return db('dispatch_plans').where('expires_at', '<', before).delete();
}

/**
 * Locks every row a plan's application writes or decides on, in the order every dispatch writer
 * uses (db/dispatches.ts): orders first (FOR UPDATE, ascending ids), then vehicles, then drivers
 * (FOR NO KEY UPDATE, ascending). A manual assignment locks one order, then its vehicle, then its
 * driver: the same global order, so the two queue up and never deadlock. `ORDER BY ... FOR UPDATE`
 * locks rows in the sorted order (the lock step runs above the sort).
 */
export async function lockPlanRows(trx: Trx, rows: { orderIds: number[]; vehicleIds: number[]; driverIds: number[] }): Promise<void> {
  const sorted = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);
  if (rows.orderIds.length) await trx('orders').whereIn('id', sorted(rows.orderIds)).orderBy('id').forUpdate().select('id');
  if (rows.vehicleIds.length) await trx('vehicles').whereIn('id', sorted(rows.vehicleIds)).orderBy('id').forNoKeyUpdate().select('id');
  if (rows.driverIds.length) await trx('drivers').whereIn('id', sorted(rows.driverIds)).orderBy('id').forNoKeyUpdate().select('id');
}
