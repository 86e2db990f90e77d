/**
 * What dispatch suggestions and plans read (issue 18): the fleet with everything its hard filters
 * and score terms need, and the orders to place. Each read is one statement bounded by the size of
 * the fleet (or of the day's dispatches), whatever the history: 1,000 vehicles read in a few ms.
 */
import type { Knex } from 'knex';
import type { CargoClass } from '../domain/cargo.js';
import type { DispatchStatus, OrderStatus } from '../domain/dispatch-status.js';
import { ACTIVE_STATUSES_SQL } from './dispatches.js';
import type { Db, Trx } from './knex.js';
import type { TemperatureProfileCode } from './orders.js';

export interface BoardVehicleRow {
  id: number;
  license_plate: string;
  active: boolean;
  capacity_kg: number;
  cargo_classes: CargoClass[];
  base_lat: number | null;
  base_lng: number | null;
  /** updated_at as PostgreSQL's text (microseconds kept): changes with every edit. */
  version: string;
}

export interface BoardDriverRow {
  id: number;
  name: string;
  active: boolean;
  vehicle_id: number | null;
  version: string;
}

export interface BoardFleet {
  vehicles: BoardVehicleRow[];
  drivers: BoardDriverRow[];
  active: { id: number; vehicle_id: number; driver_id: number }[];
  /** Each vehicle's newest GPS fix reported from it (by any driver). */
  positions: { vehicle_id: number; latitude: number; longitude: number; recorded_at: Date }[];
  /** Status history of the dispatches active or finished since `historySince`, with their driver. */
  history: { dispatch_id: number; driver_id: number; to_status: DispatchStatus; changed_at: Date }[];
  /** Dispatches created since `dayStart` per driver, cancelled ones left out. */
  assignmentsToday: { driver_id: number; count: number }[];
}

export interface BoardOrderRow {
  id: number;
  status: OrderStatus;
  cargo_type: CargoClass;
  weight_kg: number;
  temperature_profile: TemperatureProfileCode | null;
  temp_min_c: number | null;
  temp_max_c: number | null;
  pickup_lat: number | null;
  pickup_lng: number | null;
  pickup_address: string;
  delivery_address: string;
  created_at: Date;
  version: string;
}

const ORDER_COLUMNS = [
  'id',
  'status',
  'cargo_type',
  'weight_kg',
  'temperature_profile',
  'temp_min_c',
  'temp_max_c',
  'pickup_lat',
  'pickup_lng',
  'pickup_address',
  'delivery_address',
  'created_at',
];

/** Runs the reads side by side on the pool, one after another in a transaction (one connection takes one query at a time). */
function readAll<T extends readonly unknown[]>(db: Db | Trx, reads: { [K in keyof T]: () => PromiseLike<T[K]> }): Promise<T> {
  if (!(db as Trx).isTransaction) return Promise.all(reads.map((read) => read())) as unknown as Promise<T>;
  return (async () => {
    const results: unknown[] = [];
    for (const read of reads) results.push(await read());
    return results as unknown as T;
  })();
}

/** The whole fleet's facts. */
export async function loadFleet(db: Db | Trx, at: { historySince: Date; dayStart: Date }): Promise<BoardFleet> {
  const [vehicles, drivers, active, positions, history, assignmentsToday] = await readAll<
    [
      BoardVehicleRow[],
      BoardDriverRow[],
      BoardFleet['active'],
      { rows: BoardFleet['positions'] },
      { rows: BoardFleet['history'] },
      BoardFleet['assignmentsToday'],
    ]
  >(db, [
    () =>
      // The classes as text: node-postgres parses a text[] character by character, 1,000 of them cost milliseconds.
      db('vehicles')
        .orderBy('id')
        .select(
          'id',
          'license_plate',
          'active',
          'capacity_kg',
          db.raw("array_to_string(cargo_classes, ',') as cargo_classes"),
          'base_lat',
          'base_lng',
          db.raw('updated_at::text as version'),
        ),
    () => db('drivers').orderBy('id').select('id', 'name', 'active', 'vehicle_id', db.raw('updated_at::text as version')),
    () => db('dispatches').whereRaw(`status in (${ACTIVE_STATUSES_SQL})`).orderBy('id').select('id', 'vehicle_id', 'driver_id'),
    () =>
      db.raw(
        `select distinct on (vehicle_id) vehicle_id, latitude, longitude, recorded_at
         from driver_positions where vehicle_id is not null
        order by vehicle_id, recorded_at desc`,
      ),
    // The active ones by dispatches_status_idx, the recently finished by dispatches_finished_at_idx.
    () =>
      db.raw(
        `select h.dispatch_id, d.driver_id, h.to_status, h.changed_at
         from dispatches d join dispatch_status_history h on h.dispatch_id = d.id
        where d.status in (${ACTIVE_STATUSES_SQL}) or d.finished_at >= ?`,
        [at.historySince],
      ),
    () =>
      db('dispatches')
        .where('created_at', '>=', at.dayStart)
        .whereNot('status', 'CANCELLED')
        .groupBy('driver_id')
        .select('driver_id', db.raw('count(*)::int as count')),
  ]);
  for (const v of vehicles) v.cargo_classes = (v.cargo_classes as unknown as string).split(',') as CargoClass[];
  return { vehicles, drivers, active, positions: positions.rows, history: history.rows, assignmentsToday };
}

/**
 * Each vehicle's newest reading since a time, from any of its sensors. A loose index scan of the
 * (vehicle_id, sensor, recorded_at) key finds the vehicle's sensors one probe each, then one
 * backward probe per sensor: a DISTINCT ON would read every reading of the window.
 */
export type VehicleReadingRow = { vehicle_id: number; temperature_c: number; recorded_at: Date };

export async function latestVehicleReadings(db: Db | Trx, vehicleIds: readonly number[], since: Date): Promise<VehicleReadingRow[]> {
  if (vehicleIds.length === 0) return [];
  const result = await db.raw(
    `with recursive sensors as (
       select v.id as vehicle_id, (select min(t.sensor) from temperature_readings t where t.vehicle_id = v.id) as sensor
         from unnest(?::bigint[]) as v(id)
       union all
       select s.vehicle_id, (select min(t.sensor) from temperature_readings t where t.vehicle_id = s.vehicle_id and t.sensor > s.sensor)
         from sensors s where s.sensor is not null
     )
     select distinct on (s.vehicle_id) s.vehicle_id, r.temperature_c, r.recorded_at
       from sensors s
       cross join lateral (
         select t.temperature_c, t.recorded_at from temperature_readings t
          where t.vehicle_id = s.vehicle_id and t.sensor = s.sensor and t.recorded_at >= ?
          order by t.recorded_at desc limit 1
       ) r
      where s.sensor is not null
      order by s.vehicle_id, r.recorded_at desc`,
    [vehicleIds as unknown as Knex.Value, since],
  );
  return result.rows;
}

export function boardOrder(db: Db | Trx, id: number): Promise<BoardOrderRow | undefined> {
  return db('orders')
    .where({ id })
    .first(...ORDER_COLUMNS, db.raw('updated_at::text as version'));
}

/** The orders of a plan: the ids given (in order of creation), or the oldest PENDING ones up to `limit`. */
export function boardOrders(db: Db | Trx, scope: { ids: readonly number[] } | { pendingLimit: number }): Promise<BoardOrderRow[]> {
  const query = db('orders')
    .select(...ORDER_COLUMNS, db.raw('updated_at::text as version'))
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
  if ('ids' in scope) query.whereIn('id', scope.ids as number[]);
  else query.where('status', 'PENDING').limit(scope.pendingLimit);
  return query;
}
