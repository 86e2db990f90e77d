/**
 * The plan's optimisation (issue 18): orders (rows) to vehicles (columns), each cell a score in
 * integer hundredths or null where a hard filter forbids the pair. A vehicle's cell already holds
 * its best driver for that order: a driver belongs to one vehicle (drivers.vehicle_id), so one
 * order per vehicle also means one order per driver, and the best triple is a matching of rows to
 * columns. (Were cells vehicle-driver pairs, two drivers sharing a truck could both be given it.)
 *
 * The objective, lexicographic: first as many orders assigned as possible, then the largest total
 * score among those. A dispatcher would rather see every order go than see one go to a closer
 * truck and another stay home; with the score alone an order with one possible truck could lose it
 * to an order that had others.
 *
 * Solved with the Hungarian method of the `munkres` package (O(M²N), rectangular matrices, typed,
 * no dependencies). It minimises the cost of a complete matching of the smaller side, so costs are
 * shaped for the objective above: an allowed cell costs (maxScore − score), a forbidden one BIG,
 * with BIG > (k + 1) · (maxScore + 1) for k = min(rows, cols). A matching that uses one forbidden
 * cell fewer then always costs less, whatever the scores; forbidden cells it must still use (a row
 * with nothing allowed left) are dropped from the answer. Every cost is an integer far below 2^53,
 * so the library's float arithmetic is exact. Rows and columns with no allowed cell are left out
 * of the matrix before solving.
 */
import { munkres } from 'munkres';

export interface AssignmentProblem {
  rows: number;
  cols: number;
  /** Integer score (hundredths) of a cell, or null when the pair is forbidden. */
  score: (row: number, col: number) => number | null;
}

export interface AssignmentSolution {
  /** [row, col] pairs, by row. */
  pairs: [number, number][];
  /** Sum of the pairs' scores, in the same units. */
  total: number;
}

export function solveAssignment(problem: AssignmentProblem): AssignmentSolution {
  const rowAllowed: number[] = [];
  const colSeen = new Set<number>();
  let maxScore = 0;
  const cells: (number | null)[][] = [];
  for (let r = 0; r < problem.rows; r++) {
    const row: (number | null)[] = [];
    let any = false;
    for (let c = 0; c < problem.cols; c++) {
      const s = problem.score(r, c);
      if (s !== null) {
        if (!Number.isInteger(s) || s < 0) throw new RangeError(`scores must be non-negative integers (row ${r}, column ${c}: ${s})`);
        any = true;
        colSeen.add(c);
        if (s > maxScore) maxScore = s;
      }
      row.push(s);
    }
    cells.push(row);
    if (any) rowAllowed.push(r);
  }
  const colAllowed = [...colSeen].sort((a, b) => a - b);
  if (rowAllowed.length === 0 || colAllowed.length === 0) return { pairs: [], total: 0 };

  const k = Math.min(rowAllowed.length, colAllowed.length);
  const big = (k + 2) * (maxScore + 1);
  const costs = rowAllowed.map((r) => {
    const row = new Float64Array(colAllowed.length);
    const source = cells[r]!;
    for (let j = 0; j < colAllowed.length; j++) {
      const s = source[colAllowed[j]!];
      row[j] = s === null || s === undefined ? big : maxScore - s;
    }
    return row;
  });

  const pairs: [number, number][] = [];
  let total = 0;
  for (const [i, j] of munkres(costs)) {
    const r = rowAllowed[i]!;
    const c = colAllowed[j]!;
    const s = cells[r]![c];
    if (s === null || s === undefined) continue;
    pairs.push([r, c]);
    total += s;
  }
  pairs.sort((a, b) => a[0] - b[0]);
  return { pairs, total };
}

/**
 * The baseline the benchmark compares with: rows in order (oldest order first), each taking its
 * best column still free. What a dispatcher working down the list does, and what Onfleet's and
 * Fleetbase's greedy engines do.
 */
export function greedyAssignment(problem: AssignmentProblem): AssignmentSolution {
  const taken = new Set<number>();
  const pairs: [number, number][] = [];
  let total = 0;
  for (let r = 0; r < problem.rows; r++) {
    let best = -1;
    let bestScore = -1;
    for (let c = 0; c < problem.cols; c++) {
      if (taken.has(c)) continue;
      const s = problem.score(r, c);
      if (s !== null && s > bestScore) {
        best = c;
        bestScore = s;
      }
    }
    if (best >= 0) {
      taken.add(best);
      pairs.push([r, best]);
      total += bestScore;
    }
  }
  return { pairs, total };
}
