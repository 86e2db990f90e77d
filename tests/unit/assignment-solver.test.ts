/**
 * Plans are optimal: the solver (domain/assignment-solver.ts) and the whole planner (planBoard, with
 * drivers sharing vehicles, hard filters and real scores) against brute force over every matching,
 * on random instances up to 7 × 7 (fast-check, many seeds). The objective is lexicographic: the most
 * orders assigned, then the largest total score. Never two orders on one vehicle or one driver, never
 * a pair a hard filter forbids.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BoardFleet, BoardOrderRow, VehicleReadingRow } from '../../db/dispatch-board.js';
import { greedyAssignment, solveAssignment, type AssignmentProblem } from '../../domain/assignment-solver.js';
import type { CargoClass } from '../../domain/cargo.js';
import { evaluatePair, type ScoreWeights } from '../../domain/dispatch-suggestions.js';
import { buildBoard, orderFacts } from '../../use-cases/dispatch-board.js';
import { planBoard } from '../../use-cases/dispatch-plans.js';

interface Best {
  count: number;
  total: number;
}
const better = (a: Best, b: Best) => a.count > b.count || (a.count === b.count && a.total > b.total);

/** Every matching of rows to columns (a row may stay unmatched): the best (count, total). */
function bruteForce(p: AssignmentProblem): Best {
  let best: Best = { count: 0, total: 0 };
  const used = new Array<boolean>(p.cols).fill(false);
  const walk = (r: number, count: number, total: number) => {
    if (r === p.rows) {
      if (better({ count, total }, best)) best = { count, total };
      return;
    }
    walk(r + 1, count, total);
    for (let c = 0; c < p.cols; c++) {
      const s = p.score(r, c);
      if (used[c] || s === null) continue;
      used[c] = true;
      walk(r + 1, count + 1, total + s);
      used[c] = false;
    }
  };
  walk(0, 0, 0);
  return best;
}

/** Random matrices: a share of forbidden cells from none to all, and scores wide or narrow (ties). */
const matrix = fc
  .record({
    rows: fc.integer({ min: 0, max: 7 }),
    cols: fc.integer({ min: 0, max: 7 }),
    forbidden: fc.double({ min: 0, max: 1, noNaN: true }),
    top: fc.constantFrom(3, 10_000),
  })
  .chain(({ rows, cols, forbidden, top }) =>
    fc
      .array(fc.array(fc.tuple(fc.integer({ min: 0, max: top }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: cols, maxLength: cols }), {
        minLength: rows,
        maxLength: rows,
      })
      .map((cells) => ({ rows, cols, cells: cells.map((row) => row.map(([score, u]) => (u < forbidden ? null : score))) })),
  );

const problemOf = ({ rows, cols, cells }: { rows: number; cols: number; cells: (number | null)[][] }): AssignmentProblem => ({
  rows,
  cols,
  score: (r, c) => cells[r]![c]!,
});

describe('the assignment solver', () => {
  it('matches brute force on every random instance up to 7 × 7 (count first, then total)', () => {
    fc.assert(
      fc.property(matrix, (m) => {
        const problem = problemOf(m);
        const solution = solveAssignment(problem);
        expect({ count: solution.pairs.length, total: solution.total }).toEqual(bruteForce(problem));
        // A real matching of allowed cells, and the total is theirs.
        expect(new Set(solution.pairs.map(([r]) => r)).size).toBe(solution.pairs.length);
        expect(new Set(solution.pairs.map(([, c]) => c)).size).toBe(solution.pairs.length);
        let total = 0;
        for (const [r, c] of solution.pairs) {
          expect(problem.score(r, c)).not.toBeNull();
          total += problem.score(r, c)!;
        }
        expect(total).toBe(solution.total);
      }),
      { numRuns: 3000, seed: 18 },
    );
  });

  it('is never beaten by the greedy baseline, and beats it where greedy takes an order’s only vehicle', () => {
    fc.assert(
      fc.property(matrix, (m) => {
        const problem = problemOf(m);
        const greedy = greedyAssignment(problem);
        const optimal = solveAssignment(problem);
        expect(better({ count: greedy.pairs.length, total: greedy.total }, { count: optimal.pairs.length, total: optimal.total })).toBe(false);
      }),
      { numRuns: 1000, seed: 1818 },
    );
    // Order 0 prefers vehicle 0 slightly; order 1 can only take vehicle 0.
    const trap: AssignmentProblem = {
      rows: 2,
      cols: 2,
      score: (r, c) =>
        [
          [50, 40],
          [30, null],
        ][r]![c]!,
    };
    expect(greedyAssignment(trap)).toEqual({ pairs: [[0, 0]], total: 50 });
    expect(solveAssignment(trap)).toEqual({
      pairs: [
        [0, 1],
        [1, 0],
      ],
      total: 70,
    });
  });

  it('solves an empty board and a board where nothing is allowed', () => {
    expect(solveAssignment({ rows: 0, cols: 3, score: () => 1 })).toEqual({ pairs: [], total: 0 });
    expect(solveAssignment({ rows: 3, cols: 3, score: () => null })).toEqual({ pairs: [], total: 0 });
  });
});

// --- the whole planner: random fleets (some vehicles with two drivers), orders and hard filters

const WEIGHTS: ScoreWeights = { distance: 0.5, capacityFit: 0.15, reeferReadiness: 0.2, fairness: 0.15 };
const NOW = new Date('2026-11-30T15:00:00+09:00');
const CLASSES: CargoClass[][] = [['CHILLED', 'FROZEN'], ['FROZEN'], ['AMBIENT'], ['CHILLED', 'FROZEN', 'AMBIENT']];
const CARGO: CargoClass[] = ['CHILLED', 'FROZEN', 'AMBIENT'];

const instance = fc.record({
  vehicles: fc.array(
    fc.record({
      inactive: fc.integer({ min: 0, max: 9 }),
      classes: fc.integer({ min: 0, max: 3 }),
      capacity: fc.constantFrom(1000, 2500, 5000, 11_000),
      lat: fc.double({ min: 35, max: 37.7, noNaN: true }),
      lng: fc.double({ min: 126.8, max: 129.2, noNaN: true }),
      drivers: fc.integer({ min: 0, max: 2 }),
      busy: fc.integer({ min: 0, max: 9 }),
      temperature: fc.option(fc.integer({ min: -25, max: 25 })),
    }),
    { minLength: 0, maxLength: 7 },
  ),
  orders: fc.array(
    fc.record({
      cargo: fc.integer({ min: 0, max: 2 }),
      weight: fc.constantFrom(500, 2000, 4000, 9000, 12_000),
      lat: fc.double({ min: 35, max: 37.7, noNaN: true }),
      lng: fc.double({ min: 126.8, max: 129.2, noNaN: true }),
    }),
    { minLength: 0, maxLength: 7 },
  ),
});

type Instance = typeof instance extends fc.Arbitrary<infer T> ? T : never;

function fleetOf(inst: Instance): { fleet: BoardFleet; orders: BoardOrderRow[]; readings: VehicleReadingRow[] } {
  const fleet: BoardFleet = { vehicles: [], drivers: [], active: [], positions: [], history: [], assignmentsToday: [] };
  const readings: VehicleReadingRow[] = [];
  let driverId = 0;
  inst.vehicles.forEach((v, i) => {
    const id = i + 1;
    fleet.vehicles.push({
      id,
      license_plate: `V${id}`,
      active: v.inactive !== 0,
      capacity_kg: v.capacity,
      cargo_classes: CLASSES[v.classes]!,
      base_lat: v.lat,
      base_lng: v.lng,
      version: 'v',
    });
    if (v.temperature !== null) readings.push({ vehicle_id: id, temperature_c: v.temperature, recorded_at: new Date(NOW.getTime() - 60_000) });
    for (let k = 0; k < v.drivers; k++) {
      driverId++;
      fleet.drivers.push({ id: driverId, name: `D${driverId}`, active: (driverId + v.inactive) % 7 !== 0, vehicle_id: id, version: 'v' });
      fleet.assignmentsToday.push({ driver_id: driverId, count: (driverId * 7 + i) % 3 });
    }
    // Some vehicles are on the road (busy); another driver registered to a busy vehicle is free but has no truck.
    if (v.busy === 0 && v.drivers > 0) fleet.active.push({ id: 900 + id, vehicle_id: id, driver_id: driverId });
  });
  const orders: BoardOrderRow[] = inst.orders.map((o, i) => ({
    id: 100 + i,
    status: 'PENDING',
    cargo_type: CARGO[o.cargo]!,
    weight_kg: o.weight,
    temperature_profile: null,
    temp_min_c: null,
    temp_max_c: null,
    pickup_lat: o.lat,
    pickup_lng: o.lng,
    pickup_address: '',
    delivery_address: '',
    created_at: new Date(NOW.getTime() - (10 - i) * 60_000),
    version: 'v',
  }));
  return { fleet, orders, readings };
}

/** Brute force over orders × vehicle-driver pairs, each vehicle and each driver used at most once. */
function bruteForcePlan(orders: BoardOrderRow[], board: ReturnType<typeof buildBoard>): Best {
  const options = orders.map((o) =>
    board.pairs.flatMap((p) => {
      const result = evaluatePair(orderFacts(o), p.vehicle, p.driver, WEIGHTS, NOW);
      return result.ok ? [{ vehicle: p.vehicle.id, driver: p.driver.id, score: Math.round(result.score * 100) }] : [];
    }),
  );
  let best: Best = { count: 0, total: 0 };
  const vehicles = new Set<number>();
  const drivers = new Set<number>();
  const walk = (r: number, count: number, total: number) => {
    if (r === orders.length) {
      if (better({ count, total }, best)) best = { count, total };
      return;
    }
    walk(r + 1, count, total);
    for (const option of options[r]!) {
      if (vehicles.has(option.vehicle) || drivers.has(option.driver)) continue;
      vehicles.add(option.vehicle);
      drivers.add(option.driver);
      walk(r + 1, count + 1, total + option.score);
      vehicles.delete(option.vehicle);
      drivers.delete(option.driver);
    }
  };
  walk(0, 0, 0);
  return best;
}

describe('planBoard', () => {
  it('is optimal against brute force over every matching of orders to vehicle-driver pairs, and respects every hard filter', () => {
    fc.assert(
      fc.property(instance, (inst) => {
        const { fleet, orders, readings } = fleetOf(inst);
        const board = buildBoard(fleet, NOW, readings);
        const plan = planBoard(orders, board, WEIGHTS);
        const best = bruteForcePlan(orders, board);
        const total = Math.round(plan.assignments.reduce((sum, a) => sum + a.score * 100, 0));
        expect({ count: plan.assignments.length, total }).toEqual(best);
        expect(Math.round(plan.totalScore * 100)).toBe(total);

        // Never two orders on one vehicle or one driver; every order either assigned or explained.
        expect(new Set(plan.assignments.map((a) => a.vehicle_id)).size).toBe(plan.assignments.length);
        expect(new Set(plan.assignments.map((a) => a.driver_id)).size).toBe(plan.assignments.length);
        expect([...plan.assignments.map((a) => a.order_id), ...plan.unassigned.map((u) => u.order_id)].sort()).toEqual(orders.map((o) => o.id).sort());
        for (const u of plan.unassigned) expect(u.reasons.length).toBeGreaterThan(0);

        // Every assigned pair passes the hard filters, with the score the suggestions would show.
        for (const a of plan.assignments) {
          const order = orders.find((o) => o.id === a.order_id)!;
          const pair = board.pairs.find((p) => p.vehicle.id === a.vehicle_id && p.driver.id === a.driver_id);
          expect(pair, `vehicle ${a.vehicle_id} is driven by driver ${a.driver_id}`).toBeDefined();
          const result = evaluatePair(orderFacts(order), pair!.vehicle, pair!.driver, WEIGHTS, NOW);
          expect(result.ok).toBe(true);
          if (result.ok) expect(a.score).toBe(result.score);
        }
        // The greedy baseline never does better.
        expect(better({ count: plan.stats.greedy.assigned, total: Math.round(plan.stats.greedy.total_score * 100) }, best)).toBe(false);
      }),
      { numRuns: 600, seed: 20261130 },
    );
  });

  it('explains an order no pair can take with every hard filter and how many pairs each excluded', () => {
    const { fleet, orders } = fleetOf({
      vehicles: [
        { inactive: 1, classes: 2, capacity: 11_000, lat: 37.5, lng: 127, drivers: 1, busy: 1, temperature: null },
        { inactive: 1, classes: 0, capacity: 1000, lat: 37.5, lng: 127, drivers: 1, busy: 1, temperature: null },
      ],
      orders: [{ cargo: 1, weight: 4000, lat: 37.5, lng: 127 }],
    });
    const plan = planBoard(orders, buildBoard(fleet, NOW), WEIGHTS);
    expect(plan.assignments).toEqual([]);
    expect(plan.unassigned).toEqual([
      {
        order_id: 100,
        reasons: [
          { code: 'no_compatible_pair', message: 'none of the 2 vehicle-driver pairs passes the hard filters' },
          { code: 'cargo_class_unsupported', message: expect.stringMatching(/^1 pair\(s\), e\.g\. vehicle 1 cannot carry FROZEN/), pairs: 1 },
          { code: 'capacity_exceeded', message: expect.stringMatching(/^1 pair\(s\), e\.g\. vehicle 2 carries at most 1000 kg/), pairs: 1 },
        ],
      },
    ]);
  });
});
