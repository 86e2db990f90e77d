/**
 * The board that suggestions and plans reason about: the fleet's vehicle-driver pairs with the
 * facts of domain/dispatch-suggestions.ts, read at one instant, and the lines a plan's fingerprint
 * is made of. Shared by use-cases/dispatch-suggestions.ts and use-cases/dispatch-plans.ts.
 */
import { createHash } from 'node:crypto';
import type { BoardFleet, BoardOrderRow, BoardVehicleRow, BoardDriverRow } from '../db/dispatch-board.js';
import { latestVehicleReadings, loadFleet, type VehicleReadingRow } from '../db/dispatch-board.js';
import type { Db, Trx } from '../db/knex.js';
import { READING_MAX_AGE_MS, type DriverFacts, type Exclusion, type OrderFacts, type VehicleFacts } from '../domain/dispatch-suggestions.js';
import { checkDrivingTime, drivingIntervals, DRIVING_LOOKBACK_MS, type StatusChange } from '../domain/driving-time.js';
import { seoulDay } from '../domain/seoul-day.js';
import { limitsOfOrder } from '../domain/temperature-profiles.js';

export interface BoardVehicle extends VehicleFacts {
  row: BoardVehicleRow;
}
export interface BoardDriver extends DriverFacts {
  row: BoardDriverRow;
}

export interface Board {
  now: Date;
  vehicles: Map<number, BoardVehicle>;
  drivers: Map<number, BoardDriver>;
  /** Every vehicle with each driver registered to it. */
  pairs: { vehicle: BoardVehicle; driver: BoardDriver }[];
  /** Entries for the excluded list that are not pairs: a vehicle nobody drives, a driver without a vehicle. */
  unpaired: { vehicle_id: number | null; driver_id: number | null; reasons: Exclusion[] }[];
  /** The facts a plan depends on, one line each (orders are added by the plan). */
  inputs: string[];
}

/**
 * The board with the reefer readings of the vehicles that could take an order at all (active, free,
 * with an active free driver): a reading only moves the score of an allowed pair. Suggestions pass
 * `readings: false` and read the few vehicles the order allows afterwards (attachReadings).
 */
export async function loadBoard(db: Db | Trx, now: Date, options: { readings?: boolean } = {}): Promise<Board> {
  const fleet = await loadFleet(db, { historySince: new Date(now.getTime() - DRIVING_LOOKBACK_MS), dayStart: seoulDay(now).start });
  const board = buildBoard(fleet, now);
  if (options.readings !== false) {
    const usable = board.pairs.filter((p) => p.vehicle.active && p.vehicle.busyWith === undefined && p.driver.active && p.driver.busyWith === undefined);
    await attachReadings(db, board, [...new Set(usable.map((p) => p.vehicle.id))]);
  }
  return board;
}

/** Reads the newest reading (at most READING_MAX_AGE_MS old) of these vehicles into the board. */
export async function attachReadings(db: Db | Trx, board: Board, vehicleIds: number[]): Promise<void> {
  const rows = await latestVehicleReadings(db, vehicleIds, new Date(board.now.getTime() - READING_MAX_AGE_MS));
  for (const r of rows) {
    const vehicle = board.vehicles.get(r.vehicle_id);
    if (vehicle) vehicle.latestReading = { temperatureC: r.temperature_c, at: r.recorded_at };
  }
}

export function buildBoard(fleet: BoardFleet, now: Date, readings: readonly VehicleReadingRow[] = []): Board {
  const vehicleBusy = new Map(fleet.active.map((d) => [d.vehicle_id, d.id]));
  const driverBusy = new Map(fleet.active.map((d) => [d.driver_id, d.id]));
  const positions = new Map(fleet.positions.map((p) => [p.vehicle_id, p]));
  const readingOf = new Map(readings.map((r) => [r.vehicle_id, r]));
  const today = new Map(fleet.assignmentsToday.map((a) => [a.driver_id, a.count]));
  const changes = new Map<number, StatusChange[]>();
  for (const h of fleet.history) {
    const list = changes.get(h.driver_id) ?? [];
    list.push({ dispatchId: h.dispatch_id, to: h.to_status, at: h.changed_at });
    changes.set(h.driver_id, list);
  }

  const vehicles = new Map<number, BoardVehicle>();
  for (const row of fleet.vehicles) {
    const gps = positions.get(row.id);
    const reading = readingOf.get(row.id);
    vehicles.set(row.id, {
      row,
      id: row.id,
      active: row.active,
      capacityKg: row.capacity_kg,
      cargoClasses: row.cargo_classes,
      busyWith: vehicleBusy.get(row.id),
      position: gps
        ? { point: { lat: gps.latitude, lng: gps.longitude }, source: 'gps', at: gps.recorded_at }
        : row.base_lat !== null && row.base_lng !== null
          ? { point: { lat: row.base_lat, lng: row.base_lng }, source: 'base', at: null }
          : null,
      latestReading: reading ? { temperatureC: reading.temperature_c, at: reading.recorded_at } : null,
    });
  }
  const drivers = new Map<number, BoardDriver>();
  const todayStart = seoulDay(now).start.getTime();
  for (const row of fleet.drivers) {
    drivers.set(row.id, {
      row,
      id: row.id,
      active: row.active,
      busyWith: driverBusy.get(row.id),
      drivingTime: checkDrivingTime(drivingIntervals(changes.get(row.id) ?? []), now, todayStart),
      assignmentsToday: today.get(row.id) ?? 0,
    });
  }

  const pairs: Board['pairs'] = [];
  const unpaired: Board['unpaired'] = [];
  const driven = new Set<number>();
  for (const driver of drivers.values()) {
    const vehicleId = driver.row.vehicle_id;
    const vehicle = vehicleId === null ? undefined : vehicles.get(vehicleId);
    if (!vehicle) {
      unpaired.push({ vehicle_id: null, driver_id: driver.id, reasons: [{ code: 'no_vehicle', message: `driver ${driver.id} has no vehicle registered` }] });
      continue;
    }
    driven.add(vehicle.id);
    pairs.push({ vehicle, driver });
  }
  for (const vehicle of vehicles.values()) {
    if (!driven.has(vehicle.id)) {
      unpaired.push({ vehicle_id: vehicle.id, driver_id: null, reasons: [{ code: 'no_driver', message: `no driver has vehicle ${vehicle.id} registered` }] });
    }
  }
  pairs.sort((a, b) => a.vehicle.id - b.vehicle.id || a.driver.id - b.driver.id);

  const inputs = [
    ...fleet.vehicles.map((v) => `vehicle ${v.id} ${v.active ? 'active' : 'inactive'} ${v.capacity_kg} ${[...v.cargo_classes].sort().join(',')} ${v.version}`),
    ...fleet.drivers.map((d) => `driver ${d.id} ${d.active ? 'active' : 'inactive'} vehicle=${d.vehicle_id ?? '-'} ${d.version}`),
    ...fleet.active.map((d) => `dispatch ${d.id} active vehicle=${d.vehicle_id} driver=${d.driver_id}`),
  ];
  return { now, vehicles, drivers, pairs, unpaired, inputs };
}

export function orderFacts(row: BoardOrderRow): OrderFacts {
  return {
    id: row.id,
    status: row.status,
    cargoType: row.cargo_type,
    weightKg: row.weight_kg,
    limits: limitsOfOrder(row),
    pickup: row.pickup_lat !== null && row.pickup_lng !== null ? { lat: row.pickup_lat, lng: row.pickup_lng } : null,
  };
}

export function orderInput(row: BoardOrderRow): string {
  return `order ${row.id} ${row.status} ${row.version}`;
}

/** sha256 of the sorted input lines. */
export function fingerprintOf(inputs: readonly string[]): string {
  return createHash('sha256')
    .update([...inputs].sort().join('\n'))
    .digest('hex');
}
