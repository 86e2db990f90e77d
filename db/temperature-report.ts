/**
 * Reads for a dispatch's temperature record (GET /dispatches/:id/temperature-report):
 * who carried what (dispatch, order, client, vehicle, driver), every reading in time
 * order, per-sensor statistics, and the names of the people behind corrective actions.
 * Excursions themselves come from db/excursions.ts (listDispatchExcursions).
 */
import type { CargoClass } from '../domain/cargo.js';
import type { TemperatureProfileCode } from '../domain/temperature-profiles.js';
import type { Db } from './knex.js';

export interface ReportHeaderRow {
  dispatch_id: number;
  dispatch_status: string;
  dispatch_created_at: Date;
  dispatch_finished_at: Date | null;
  driver_id: number;
  driver_name: string;
  vehicle_id: number;
  license_plate: string;
  vehicle_type: string;
  order_id: number;
  order_status: string;
  pickup_address: string;
  delivery_address: string;
  cargo_type: CargoClass;
  weight_kg: number;
  temperature_profile: TemperatureProfileCode | null;
  temp_min_c: number | null;
  temp_max_c: number | null;
  client_id: number;
  client_name: string;
}

/** The dispatch with its order, client, vehicle and driver; undefined for an unknown dispatch. */
export async function getReportHeader(db: Db, dispatchId: number): Promise<ReportHeaderRow | undefined> {
  return db('dispatches as d')
    .join('orders as o', 'o.id', 'd.order_id')
    .join('clients as c', 'c.id', 'o.client_id')
    .join('vehicles as v', 'v.id', 'd.vehicle_id')
    .join('drivers as dr', 'dr.id', 'd.driver_id')
    .where('d.id', dispatchId)
    .first(
      'd.id as dispatch_id',
      'd.status as dispatch_status',
      'd.created_at as dispatch_created_at',
      'd.finished_at as dispatch_finished_at',
      'd.driver_id',
      'dr.name as driver_name',
      'd.vehicle_id',
      'v.license_plate',
      'v.vehicle_type',
      'o.id as order_id',
      'o.status as order_status',
      'o.pickup_address',
      'o.delivery_address',
      'o.cargo_type',
      'o.weight_kg',
      'o.temperature_profile',
      'o.temp_min_c',
      'o.temp_max_c',
      'o.client_id',
      'c.name as client_name',
    );
}

export interface ReportReading {
  recorded_at: Date;
  sensor: string;
  temperature_c: number;
  setpoint_c: number | null;
  door_open: boolean | null;
}

/**
 * Every reading of a dispatch in time order (then sensor, then id), unpaged: the record
 * must list them all. A day at one reading a minute is 1,440 rows; the longest dispatch
 * the retention keeps is bounded by the vehicle's one-active-dispatch rule.
 */
export async function listAllDispatchReadings(db: Db, dispatchId: number): Promise<ReportReading[]> {
  return db('temperature_readings')
    .where('dispatch_id', dispatchId)
    .orderBy([{ column: 'recorded_at' }, { column: 'sensor' }, { column: 'id' }])
    .select('recorded_at', 'sensor', 'temperature_c', 'setpoint_c', 'door_open');
}

/** A dispatch's readings reduced to what the rolling MKT needs (sensor, time, temperature), for a summary that lists no readings. */
export async function dispatchTemperatureSeries(db: Db, dispatchId: number): Promise<Pick<ReportReading, 'recorded_at' | 'sensor' | 'temperature_c'>[]> {
  return db('temperature_readings').where('dispatch_id', dispatchId).select('recorded_at', 'sensor', 'temperature_c');
}

export interface SensorStats {
  sensor: string;
  readings: number;
  first_at: Date;
  last_at: Date;
  min_c: number;
  max_c: number;
  /** Arithmetic mean of the readings (not time-weighted), rounded to 0.01 °C. */
  mean_c: number;
}

/** Per-sensor count, first and last time, min, max and mean, by sensor name. */
export async function dispatchReadingStats(db: Db, dispatchId: number): Promise<SensorStats[]> {
  return db('temperature_readings')
    .where('dispatch_id', dispatchId)
    .groupBy('sensor')
    .orderBy('sensor')
    .select(
      'sensor',
      db.raw('count(*)::int as readings'),
      db.raw('min(recorded_at) as first_at'),
      db.raw('max(recorded_at) as last_at'),
      db.raw('min(temperature_c) as min_c'),
      db.raw('max(temperature_c) as max_c'),
      db.raw('round(avg(temperature_c), 2) as mean_c'),
    );
}

/** Display names of users (name, else e-mail) by id, for "who" of corrective actions. */
export async function userDisplayNames(db: Db, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows: { id: number; name: string | null; email: string }[] = await db('users')
    .whereIn('id', [...new Set(ids)])
    .select('id', 'name', 'email');
  return new Map(rows.map((r) => [r.id, r.name ?? r.email]));
}
