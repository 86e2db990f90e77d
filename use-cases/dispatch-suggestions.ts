/**
 * GET /orders/:id/suggestions: the order's best vehicle-driver pairs with each score term, and every
 * pair that cannot take it with every reason (DESIGN.md "Dispatch suggestions"). A read: nothing is
 * assigned without a dispatcher's click.
 */
import { boardOrder } from '../db/dispatch-board.js';
import type { Db } from '../db/knex.js';
import { evaluatePair, pairExclusions, type Exclusion, type ScoreTerms, type ScoreWeights } from '../domain/dispatch-suggestions.js';
import { ConflictError, NotFoundError } from '../lib/errors/index.js';
import { attachReadings, loadBoard, orderFacts } from './dispatch-board.js';

export interface Suggestion {
  vehicle_id: number;
  driver_id: number;
  score: number;
  distance_km: number | null;
  terms: ScoreTerms;
  /** What the terms were computed from, for the reasons a dispatcher reads. */
  details: {
    license_plate: string;
    driver_name: string;
    position: 'gps' | 'base' | null;
    position_at: Date | null;
    temperature_c: number | null;
    temperature_at: Date | null;
    assignments_today: number;
  };
}

export interface ExcludedPair {
  vehicle_id: number | null;
  driver_id: number | null;
  license_plate: string | null;
  driver_name: string | null;
  reasons: Exclusion[];
}

export interface Suggestions {
  order_id: number;
  items: Suggestion[];
  excluded: ExcludedPair[];
}

export async function suggestForOrder(db: Db, input: { orderId: number; limit: number; weights: ScoreWeights; now?: Date }): Promise<Suggestions> {
  const now = input.now ?? new Date();
  const [row, board] = await Promise.all([boardOrder(db, input.orderId), loadBoard(db, now, { readings: false })]);
  if (!row) throw new NotFoundError('order');
  if (row.status !== 'PENDING') {
    throw new ConflictError(`order ${row.id} is ${row.status}, not PENDING: there is nothing to suggest`, 'order_not_pending');
  }
  const order = orderFacts(row);
  // Readings only for the vehicles the order allows: the rest are excluded whatever their temperature.
  const allowed = board.pairs.filter(({ vehicle, driver }) => pairExclusions(order, vehicle, driver).length === 0);
  await attachReadings(db, board, [...new Set(allowed.map((p) => p.vehicle.id))]);
  const items: Suggestion[] = [];
  const excluded: ExcludedPair[] = [];
  for (const { vehicle, driver } of board.pairs) {
    const result = evaluatePair(order, vehicle, driver, input.weights, now);
    if (!result.ok) {
      excluded.push({
        vehicle_id: vehicle.id,
        driver_id: driver.id,
        license_plate: vehicle.row.license_plate,
        driver_name: driver.row.name,
        reasons: result.exclusions,
      });
      continue;
    }
    items.push({
      vehicle_id: vehicle.id,
      driver_id: driver.id,
      score: result.score,
      distance_km: result.distanceKm,
      terms: result.terms,
      details: {
        license_plate: vehicle.row.license_plate,
        driver_name: driver.row.name,
        position: vehicle.position?.source ?? null,
        position_at: vehicle.position?.at ?? null,
        temperature_c: result.readingUsed ? vehicle.latestReading!.temperatureC : null,
        temperature_at: result.readingUsed ? vehicle.latestReading!.at : null,
        assignments_today: driver.assignmentsToday,
      },
    });
  }
  // Best first; ties by distance, then ids, so the answer is stable.
  items.sort(
    (a, b) => b.score - a.score || (a.distance_km ?? Infinity) - (b.distance_km ?? Infinity) || a.vehicle_id - b.vehicle_id || a.driver_id - b.driver_id,
  );
  for (const u of board.unpaired) {
    excluded.push({
      ...u,
      license_plate: u.vehicle_id === null ? null : (board.vehicles.get(u.vehicle_id)?.row.license_plate ?? null),
      driver_name: u.driver_id === null ? null : (board.drivers.get(u.driver_id)?.row.name ?? null),
    });
  }
  excluded.sort((a, b) => (a.vehicle_id ?? Infinity) - (b.vehicle_id ?? Infinity) || (a.driver_id ?? Infinity) - (b.driver_id ?? Infinity));
  return { order_id: row.id, items: items.slice(0, input.limit), excluded };
}
