/**
 * Reads the dispatcher dashboard needs in one round trip each, where the contract's
 * endpoints would take one request per row (a dispatch's history, a vehicle's position).
 */
import type { CargoClass } from '../domain/cargo.js';
import { ACTIVE_DISPATCH_STATUSES } from '../domain/dispatch-status.js';
import { TEMPERATURE_PROFILES, limitsOfOrder, type TemperatureProfileCode } from '../domain/temperature-profiles.js';
import { PROOF_KINDS, missingProofs, type ProofKind } from '../domain/proofs.js';
import { UNRESOLVED_EXCURSION_SQL } from './excursions.js';
import { proofCountsOf } from './proofs.js';
import type { Db } from './knex.js';

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : value == null ? null : String(value));

/**
 * Every active vehicle with the newest position reported for it (by whichever driver
 * drove it last), or nulls when it never reported. A fleet is hundreds of vehicles,
 * so one page is enough; driver_positions has one row per driver and an index on vehicle_id.
 */
export async function vehiclePositions(db: Db, limit = 2000) {
  const rows: Record<string, unknown>[] = await db('vehicles as v')
    .leftJoin(
      db('driver_positions')
        .distinctOn('vehicle_id')
        .select('vehicle_id', 'driver_id', 'latitude', 'longitude', 'speed_kmh', 'heading_deg', 'recorded_at', 'updated_at')
        .whereNotNull('vehicle_id')
        .orderBy([{ column: 'vehicle_id' }, { column: 'recorded_at', order: 'desc' }])
        .as('p'),
      'p.vehicle_id',
      'v.id',
    )
    .leftJoin('drivers as d', 'd.id', 'p.driver_id')
    .where('v.active', true)
    .orderBy('v.id')
    .limit(limit)
    .select(
      'v.id as vehicle_id',
      'v.license_plate',
      'v.vehicle_type',
      'p.driver_id',
      'd.name as driver_name',
      'p.latitude',
      'p.longitude',
      'p.speed_kmh',
      'p.heading_deg',
      'p.recorded_at',
      'p.updated_at as reported_at',
    );
  return rows.map((r) => ({
    vehicle_id: r.vehicle_id as number,
    license_plate: r.license_plate as string,
    vehicle_type: r.vehicle_type as string,
    driver_id: (r.driver_id as number | null) ?? null,
    driver_name: (r.driver_name as string | null) ?? null,
    latitude: (r.latitude as number | null) ?? null,
    longitude: (r.longitude as number | null) ?? null,
    speed_kmh: (r.speed_kmh as number | null) ?? null,
    heading_deg: (r.heading_deg as number | null) ?? null,
    recorded_at: iso(r.recorded_at),
    reported_at: iso(r.reported_at),
  }));
}

// numeric columns arrive as numbers (db/knex.ts); null stays null.
const num = (value: unknown) => (value as number | null | undefined) ?? null;

/**
 * Active dispatches, newest first, with their order, vehicle plate, driver name, status history,
 * latest temperature reading, resolved limits, excursion and proof counts (five queries in all, whatever the number of dispatches).
 */
export async function activeDispatches(db: Db, limit: number) {
  const rows: Record<string, unknown>[] = await db('dispatches as d')
    .join('orders as o', 'o.id', 'd.order_id')
    .join('vehicles as v', 'v.id', 'd.vehicle_id')
    .join('drivers as dr', 'dr.id', 'd.driver_id')
    .whereIn('d.status', ACTIVE_DISPATCH_STATUSES)
    .orderBy([
      { column: 'd.created_at', order: 'desc' },
      { column: 'd.id', order: 'desc' },
    ])
    .limit(limit)
    .select(
      'd.id',
      'd.status',
      'd.order_id',
      'd.vehicle_id',
      'd.driver_id',
      'd.created_at',
      'd.updated_at',
      'o.pickup_address',
      'o.delivery_address',
      'o.cargo_type',
      'o.weight_kg',
      'o.status as order_status',
      'o.client_id',
      'o.temperature_profile',
      'o.temp_min_c',
      'o.temp_max_c',
      'o.proof_required',
      'v.license_plate',
      'dr.name as driver_name',
    );
  const ids = rows.map((r) => r.id as number);
  const history: Record<string, unknown>[] = ids.length
    ? await db('dispatch_status_history')
        .whereIn('dispatch_id', ids)
        .orderBy([{ column: 'dispatch_id' }, { column: 'changed_at' }, { column: 'id' }])
        .select('dispatch_id', 'from_status', 'to_status', 'changed_by', 'changed_at', 'note')
    : [];
  // The newest reading per dispatch: DISTINCT ON over the (dispatch_id, recorded_at, id) index.
  const latest: Record<string, unknown>[] = ids.length
    ? await db('temperature_readings')
        .distinctOn('dispatch_id')
        .whereIn('dispatch_id', ids)
        .orderBy([{ column: 'dispatch_id' }, { column: 'recorded_at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .select('dispatch_id', 'temperature_c', 'recorded_at', 'sensor')
    : [];
  const latestBy = new Map(latest.map((r) => [r.dispatch_id as number, r]));
  // Current (not superseded) excursions: open ones, and unresolved ones (open, or without a corrective action: the completion gate's rule).
  const counts: Record<string, unknown>[] = ids.length
    ? await db('temperature_excursions as e')
        .whereIn('e.dispatch_id', ids)
        .whereNull('e.superseded_at')
        .groupBy('e.dispatch_id')
        .select(
          'e.dispatch_id',
          db.raw(`count(*) filter (where e.status = 'OPEN')::int as open`),
          db.raw(`count(*) filter (where ${UNRESOLVED_EXCURSION_SQL})::int as unresolved`),
          db.raw('count(*)::int as total'),
        )
    : [];
  const countsBy = new Map(counts.map((r) => [r.dispatch_id as number, r]));
  const proofCounts = await proofCountsOf(db, ids);
  const byDispatch = new Map<number, Record<string, unknown>[]>();
  for (const h of history) {
    const list = byDispatch.get(h.dispatch_id as number) ?? [];
    list.push(h);
    byDispatch.set(h.dispatch_id as number, list);
  }
  return rows.map((r) => {
    const reading = latestBy.get(r.id as number);
    const c = countsBy.get(r.id as number);
    return {
      id: r.id as number,
      status: r.status as string,
      order_id: r.order_id as number,
      vehicle_id: r.vehicle_id as number,
      driver_id: r.driver_id as number,
      created_at: iso(r.created_at)!,
      updated_at: iso(r.updated_at)!,
      order: {
        pickup_address: r.pickup_address as string,
        delivery_address: r.delivery_address as string,
        cargo_type: r.cargo_type as string,
        weight: r.weight_kg as number,
        status: r.order_status as string,
        client_id: r.client_id as number,
      },
      license_plate: r.license_plate as string,
      driver_name: r.driver_name as string,
      history: (byDispatch.get(r.id as number) ?? []).map((h) => ({
        from_status: (h.from_status as string | null) ?? null,
        to_status: h.to_status as string,
        changed_by: (h.changed_by as number | null) ?? null,
        changed_at: iso(h.changed_at)!,
        note: (h.note as string | null) ?? null,
      })),
      latest_reading: reading ? { temperature_c: num(reading.temperature_c)!, recorded_at: iso(reading.recorded_at)!, sensor: reading.sensor as string } : null,
      limits: dispatchLimits(r),
      excursions: {
        open: (c?.open as number | undefined) ?? 0,
        unresolved: (c?.unresolved as number | undefined) ?? 0,
        total: (c?.total as number | undefined) ?? 0,
      },
      proofs: proofSummary((r.proof_required as ProofKind[] | null) ?? [], proofCounts.get(r.id as number)),
    };
  });
}

/** What the card says about proof of delivery: the requirement, what is missing, and how many of each kind exist. */
function proofSummary(required: ProofKind[], counts: Record<ProofKind, number> | undefined) {
  const photo = counts?.photo ?? 0;
  const signature = counts?.signature ?? 0;
  const present = PROOF_KINDS.filter((k) => (k === 'photo' ? photo : signature) > 0);
  return { required, missing: missingProofs(required, present), photo, signature };
}

/** The order's limits as the dashboard shows them; a 0 °C limit stays 0 (num() and ?? keep it, never ||). */
function dispatchLimits(r: Record<string, unknown>) {
  const resolved = limitsOfOrder({
    cargo_type: r.cargo_type as CargoClass,
    temperature_profile: (r.temperature_profile as TemperatureProfileCode | null) ?? null,
    temp_min_c: num(r.temp_min_c),
    temp_max_c: num(r.temp_max_c),
  });
  const profile = resolved.profile ? TEMPERATURE_PROFILES[resolved.profile] : null;
  return {
    source: resolved.source,
    profile: resolved.profile,
    label: profile?.label ?? null,
    label_en: profile?.labelEn ?? null,
    min_c: resolved.limits.min,
    max_c: resolved.limits.max,
    critical_min_c: resolved.limits.criticalMin,
    critical_max_c: resolved.limits.criticalMax,
  };
}
