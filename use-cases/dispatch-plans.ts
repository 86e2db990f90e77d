/**
 * Dispatch plans (issue 18; DESIGN.md "Dispatch suggestions"): an optimal board for many orders at
 * once, stored with an expiry and a fingerprint of its inputs, then applied by a dispatcher's click.
 *
 * - createPlan reads the orders and the fleet in one snapshot, scores every (order, vehicle) cell
 *   with the vehicle's best driver (domain/dispatch-suggestions.ts), solves the assignment
 *   (domain/assignment-solver.ts) and stores the plan with the facts it rests on.
 * - applyPlan runs in one transaction: it locks the plan, then every order, vehicle and driver the
 *   plan names (db/dispatch-plans.ts lockPlanRows: the lock order of every dispatch writer), reads
 *   the board again and refuses (409 plan_stale, nothing written) when any fact changed: an order's
 *   status or any edit of it, a vehicle's or driver's edit, any dispatch that started or ended on the
 *   fleet. Time alone changes no fact, but it can move a driver out of the driving-time rules, so
 *   every assignment is checked against the hard filters again. Each dispatch is then created by
 *   assignDispatch, exactly as a manual one (same rules, same events and webhooks); a refusal there
 *   rolls the whole plan back.
 */
import { boardOrders, type BoardOrderRow } from '../db/dispatch-board.js';
import {
  deleteExpiredPlans,
  insertPlan,
  lockPlan,
  lockPlanRows,
  markPlanApplied,
  type DispatchPlanRow,
  type PlanAssignment,
  type PlanUnassigned,
} from '../db/dispatch-plans.js';
import type { DispatchRow } from '../db/dispatches.js';
import { greedyAssignment, solveAssignment } from '../domain/assignment-solver.js';
import { evaluatePair, pairExclusions, type ScoreWeights } from '../domain/dispatch-suggestions.js';
import { ConflictError, NotFoundError } from '../lib/errors/index.js';
import { fingerprintOf, loadBoard, orderFacts, orderInput, type Board } from './dispatch-board.js';
import { assignDispatch } from './dispatches.js';
import type { UseCaseDeps } from './deps.js';
import type { Tx } from './transaction.js';

/** A plan covers at most this many orders (the default scope: the oldest PENDING ones). */
export const PLAN_MAX_ORDERS = 1000;
/** Expired plans are deleted this long after their expiry, by the next plan made. */
const EXPIRED_PLANS_KEPT_MS = 7 * 86_400_000;

export interface CreatePlanInput {
  orderIds?: number[];
  weights: ScoreWeights;
  ttlSeconds: number;
  by: number;
  now?: Date;
}

export async function createPlan(deps: Pick<UseCaseDeps, 'db'>, input: CreatePlanInput): Promise<DispatchPlanRow> {
  const now = input.now ?? new Date();
  const ids = input.orderIds ? [...new Set(input.orderIds)] : undefined;
  // One snapshot: the fingerprint must describe exactly the facts the plan was computed from.
  const { orders, board } = await deps.db.transaction(
    async (trx) => {
      const orders = await boardOrders(trx, ids ? { ids } : { pendingLimit: PLAN_MAX_ORDERS });
      return { orders, board: await loadBoard(trx, now) };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
  if (ids && orders.length !== ids.length) {
    const found = new Set(orders.map((o) => o.id));
    const missing = ids.filter((id) => !found.has(id));
    throw new NotFoundError(`order ${missing.join(', ')}`);
  }
  const planned = planBoard(orders, board, input.weights);
  const inputs = [...board.inputs, ...orders.map(orderInput)];
  await deleteExpiredPlans(deps.db, new Date(now.getTime() - EXPIRED_PLANS_KEPT_MS));
  return insertPlan(deps.db, {
    created_by: input.by,
    created_at: now,
    expires_at: new Date(now.getTime() + input.ttlSeconds * 1000),
    order_ids: orders.map((o) => o.id),
    fingerprint: fingerprintOf(inputs),
    inputs,
    assignments: planned.assignments,
    unassigned: planned.unassigned,
    total_score: planned.totalScore,
    stats: planned.stats,
  });
}

export interface PlannedBoard {
  assignments: PlanAssignment[];
  unassigned: PlanUnassigned[];
  totalScore: number;
  stats: DispatchPlanRow['stats'];
}

/** The optimisation itself, on facts already read (the benchmark and tests call it directly). */
export function planBoard(orders: readonly BoardOrderRow[], board: Board, weights: ScoreWeights): PlannedBoard {
  const unassigned: PlanUnassigned[] = [];
  const pending = orders.filter((o) => {
    if (o.status === 'PENDING') return true;
    unassigned.push({ order_id: o.id, reasons: [{ code: 'order_not_pending', message: `order ${o.id} is ${o.status}, not PENDING` }] });
    return false;
  });
  const columns = [...new Set(board.pairs.map((p) => p.vehicle.id))];
  const pairsOf = new Map<number, Board['pairs']>();
  for (const pair of board.pairs) pairsOf.set(pair.vehicle.id, [...(pairsOf.get(pair.vehicle.id) ?? []), pair]);

  const R = pending.length;
  const C = columns.length;
  // Per cell: the vehicle's best driver's score in hundredths (-1: no driver of it may take the order).
  const score = new Int32Array(R * C).fill(-1);
  const driver = new Int32Array(R * C);
  const distance = new Float64Array(R * C);
  const reasonsOf: Map<string, { count: number; message: string }>[] = [];
  for (let r = 0; r < R; r++) {
    const order = orderFacts(pending[r]!);
    const reasons = new Map<string, { count: number; message: string }>();
    for (let c = 0; c < C; c++) {
      for (const { vehicle, driver: d } of pairsOf.get(columns[c]!)!) {
        const result = evaluatePair(order, vehicle, d, weights, board.now);
        if (!result.ok) {
          for (const e of result.exclusions) {
            const seen = reasons.get(e.code);
            if (seen) seen.count++;
            else reasons.set(e.code, { count: 1, message: e.message });
          }
          continue;
        }
        const hundredths = Math.round(result.score * 100);
        if (hundredths > score[r * C + c]!) {
          score[r * C + c] = hundredths;
          driver[r * C + c] = d.id;
          distance[r * C + c] = result.distanceKm ?? NaN;
        }
      }
    }
    reasonsOf.push(reasons);
  }

  const problem = { rows: R, cols: C, score: (r: number, c: number) => (score[r * C + c]! < 0 ? null : score[r * C + c]!) };
  const started = performance.now();
  const solution = solveAssignment(problem);
  const solverMs = performance.now() - started;
  const greedy = greedyAssignment(problem);

  const assignments: PlanAssignment[] = solution.pairs.map(([r, c]) => {
    const d = distance[r * C + c]!;
    return {
      order_id: pending[r]!.id,
      vehicle_id: columns[c]!,
      driver_id: driver[r * C + c]!,
      score: score[r * C + c]! / 100,
      distance_km: Number.isNaN(d) ? null : d,
    };
  });
  const assignedRows = new Set(solution.pairs.map(([r]) => r));
  for (let r = 0; r < R; r++) {
    if (assignedRows.has(r)) continue;
    let compatible = 0;
    for (let c = 0; c < C; c++) if (score[r * C + c]! >= 0) compatible++;
    const id = pending[r]!.id;
    if (compatible > 0) {
      unassigned.push({
        order_id: id,
        reasons: [
          {
            code: 'compatible_pairs_taken',
            message: `its ${compatible} possible vehicle(s) went to other orders: giving it one would leave another order without a vehicle or lower the total score`,
            pairs: compatible,
          },
        ],
      });
    } else {
      const pairs = board.pairs.length;
      unassigned.push({
        order_id: id,
        reasons: [
          {
            code: 'no_compatible_pair',
            message: pairs ? `none of the ${pairs} vehicle-driver pairs passes the hard filters` : 'no vehicle has a driver registered',
          },
          ...[...reasonsOf[r]!].map(([code, { count, message }]) => ({ code, message: `${count} pair(s), e.g. ${message}`, pairs: count })),
        ],
      });
    }
  }
  unassigned.sort((a, b) => a.order_id - b.order_id);
  return {
    assignments,
    unassigned,
    totalScore: solution.total / 100,
    stats: {
      orders: orders.length,
      vehicles: C,
      pairs: board.pairs.length,
      solver_ms: Math.round(solverMs * 100) / 100,
      greedy: { assigned: greedy.pairs.length, total_score: greedy.total / 100 },
    },
  };
}

export interface ApplyPlanInput {
  planId: number;
  by: number;
  now?: Date;
}

/** Creates every dispatch of the plan or none; 404 unknown, 409 applied, expired or stale. */
export async function applyPlan(
  tx: Tx,
  deps: Pick<UseCaseDeps, 'cache'>,
  input: ApplyPlanInput,
): Promise<{ plan: DispatchPlanRow; dispatches: DispatchRow[] }> {
  const { trx } = tx;
  const now = input.now ?? new Date();
  const plan = await lockPlan(trx, input.planId);
  if (!plan) throw new NotFoundError('dispatch plan');
  if (plan.applied_at) {
    throw new ConflictError(`dispatch plan ${plan.id} was already applied`, 'plan_already_applied', {
      applied_at: plan.applied_at,
      dispatch_ids: plan.dispatch_ids,
    });
  }
  if (plan.expires_at.getTime() <= now.getTime()) {
    throw new ConflictError(`dispatch plan ${plan.id} expired at ${plan.expires_at.toISOString()}: make a new one`, 'plan_expired', {
      expires_at: plan.expires_at,
    });
  }
  await lockPlanRows(trx, {
    orderIds: plan.order_ids,
    vehicleIds: plan.assignments.map((a) => a.vehicle_id),
    driverIds: plan.assignments.map((a) => a.driver_id),
  });
  const orders = await boardOrders(trx, { ids: plan.order_ids });
  const board = await loadBoard(trx, now);
  const inputs = [...board.inputs, ...orders.map(orderInput)];
  if (fingerprintOf(inputs) !== plan.fingerprint) {
    const before = new Set(plan.inputs);
    const after = new Set(inputs);
    throw new ConflictError(`the board changed since dispatch plan ${plan.id} was made: nothing was assigned; make a new plan`, 'plan_stale', {
      removed: plan.inputs.filter((line) => !after.has(line)).slice(0, 20),
      added: inputs.filter((line) => !before.has(line)).slice(0, 20),
    });
  }
  const byId = new Map(orders.map((o) => [o.id, o]));
  const refused = [];
  for (const a of plan.assignments) {
    const vehicle = board.vehicles.get(a.vehicle_id);
    const driver = board.drivers.get(a.driver_id);
    const order = byId.get(a.order_id);
    if (!vehicle || !driver || !order) continue; // impossible with an unchanged fingerprint
    const exclusions = pairExclusions(orderFacts(order), vehicle, driver);
    if (exclusions.length > 0) refused.push({ order_id: a.order_id, vehicle_id: a.vehicle_id, driver_id: a.driver_id, reasons: exclusions });
  }
  if (refused.length > 0) {
    throw new ConflictError(`${refused.length} assignment(s) of dispatch plan ${plan.id} no longer pass the hard filters: nothing was assigned`, 'plan_stale', {
      refused,
    });
  }
  const dispatches: DispatchRow[] = [];
  for (const a of plan.assignments) {
    dispatches.push(
      await assignDispatch(tx, deps, { orderId: a.order_id, vehicleId: a.vehicle_id, driverId: a.driver_id, notes: `dispatch plan ${plan.id}`, by: input.by }),
    );
  }
  const applied = await markPlanApplied(
    trx,
    plan.id,
    input.by,
    dispatches.map((d) => d.id),
  );
  return { plan: applied, dispatches };
}
