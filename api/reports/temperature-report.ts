/**
 * The temperature record of one dispatch (GET /dispatches/:id/temperature-report; issue 15
 * item 5): the data every format shares, the JSON summary, and the CSV log. The PDF is in
 * temperature-pdf.ts. Presentation only: reads come from db/, rules from domain/.
 */
import { CARGO_INFO } from '../../domain/cargo.js';
import {
  TEMPERATURE_PROFILES,
  limitsOfOrder,
  type LimitsSource,
  type TemperatureProfileCode,
  type TemperatureLimits,
} from '../../domain/temperature-profiles.js';
import { highestRollingMkt } from '../../domain/excursions.js';
import { listDispatchExcursions, type ExcursionValues } from '../../db/excursions.js';
import type { Db } from '../../db/knex.js';
import {
  dispatchReadingStats,
  dispatchTemperatureSeries,
  listAllDispatchReadings,
  userDisplayNames,
  type ReportHeaderRow,
  type ReportReading,
  type SensorStats,
} from '../../db/temperature-report.js';

export interface ReportAction {
  action: string;
  note: string | null;
  by: { id: number | null; name: string | null };
  at: Date;
}

export interface ReportExcursion extends ExcursionValues {
  id: number;
  actions: ReportAction[];
}

/** The JSON summary; the CSV and PDF render the same facts plus every reading. */
export interface TemperatureReportSummary {
  generated_at: Date;
  carrier: string;
  dispatch: { id: number; status: string; created_at: Date; finished_at: Date | null };
  order: {
    id: number;
    status: string;
    client: { id: number; name: string };
    pickup_address: string;
    delivery_address: string;
    cargo_type: string;
    cargo_label: string;
    weight: number;
  };
  vehicle: { id: number; license_plate: string; vehicle_type: string };
  driver: { id: number; name: string };
  profile: { source: LimitsSource; code: TemperatureProfileCode | null; label: string | null; label_en: string | null; range: string | null };
  limits: {
    min_c: number | null;
    max_c: number | null;
    critical_min_c: number | null;
    critical_max_c: number | null;
    mkt_max_c: number | null;
    mkt_window_s: number | null;
  };
  readings: { count: number; first_at: Date | null; last_at: Date | null; sensors: SensorStats[] };
  /** The rolling MKT verdict per sensor, when the limits have an MKT limit (PHARMA_2_8); null otherwise. */
  mkt: MktVerdict[] | null;
  excursions: ReportExcursion[];
}

export interface MktVerdict {
  sensor: string;
  window_s: number;
  /** The highest MKT over any full window (domain/excursions.ts highestRollingMkt), 0.01 °C. */
  mkt_c: number;
  window_from: Date;
  window_to: Date;
  readings: number;
  /** false: the readings span less than the window, and the MKT is over all of them. */
  complete_window: boolean;
  limit_c: number;
  within_limit: boolean;
}

/** Per sensor, the warmest rolling MKT against the limit (none without an MKT limit or readings). */
function mktVerdicts(readings: readonly Pick<ReportReading, 'recorded_at' | 'sensor' | 'temperature_c'>[], limitC: number, windowS: number): MktVerdict[] {
  const bySensor = new Map<string, { recordedAt: Date; temperatureC: number }[]>();
  for (const r of readings) {
    const list = bySensor.get(r.sensor) ?? [];
    list.push({ recordedAt: r.recorded_at, temperatureC: r.temperature_c });
    bySensor.set(r.sensor, list);
  }
  return [...bySensor.keys()].sort().map((sensor) => {
    const worst = highestRollingMkt(bySensor.get(sensor)!, windowS)!;
    const mkt = Math.round(worst.mktC * 100) / 100;
    return {
      sensor,
      window_s: windowS,
      mkt_c: mkt,
      window_from: worst.from,
      window_to: worst.to,
      readings: worst.readings,
      complete_window: worst.completeWindow,
      limit_c: limitC,
      within_limit: mkt <= limitC,
    };
  });
}

export interface TemperatureReport {
  summary: TemperatureReportSummary;
  /** The limits as the domain uses them (to mark out-of-range readings). */
  limits: TemperatureLimits;
  /** Every reading in time order; empty unless asked for (the JSON summary does not list them). */
  readings: ReportReading[];
}

/** Builds the record of a dispatch whose header was read; readings only when a format lists them. */
export async function loadTemperatureReport(
  db: Db,
  header: ReportHeaderRow,
  options: { carrierName: string; withReadings: boolean; now?: Date },
): Promise<TemperatureReport> {
  const [stats, excursions, readings] = await Promise.all([
    dispatchReadingStats(db, header.dispatch_id),
    listDispatchExcursions(db, header.dispatch_id),
    options.withReadings ? listAllDispatchReadings(db, header.dispatch_id) : Promise.resolve([]),
  ]);
  const names = await userDisplayNames(
    db,
    excursions.flatMap((e) => e.actions.map((a) => a.created_by).filter((id): id is number => id !== null)),
  );
  const resolved = limitsOfOrder(header);
  const profile = resolved.profile ? TEMPERATURE_PROFILES[resolved.profile] : null;
  const l = resolved.limits;
  const mkt =
    l.mktMax !== null && l.mktWindowS !== null
      ? mktVerdicts(options.withReadings ? readings : await dispatchTemperatureSeries(db, header.dispatch_id), l.mktMax, l.mktWindowS)
      : null;
  const count = stats.reduce((n, s) => n + s.readings, 0);
  const time = (pick: (s: SensorStats) => Date, better: (a: number, b: number) => boolean) =>
    stats.length ? stats.map(pick).reduce((a, b) => (better(b.getTime(), a.getTime()) ? b : a)) : null;
  const summary: TemperatureReportSummary = {
    generated_at: options.now ?? new Date(),
    carrier: options.carrierName,
    dispatch: { id: header.dispatch_id, status: header.dispatch_status, created_at: header.dispatch_created_at, finished_at: header.dispatch_finished_at },
    order: {
      id: header.order_id,
      status: header.order_status,
      client: { id: header.client_id, name: header.client_name },
      pickup_address: header.pickup_address,
      delivery_address: header.delivery_address,
      cargo_type: header.cargo_type,
      cargo_label: CARGO_INFO[header.cargo_type].label,
      weight: header.weight_kg,
    },
    vehicle: { id: header.vehicle_id, license_plate: header.license_plate, vehicle_type: header.vehicle_type },
    driver: { id: header.driver_id, name: header.driver_name },
    profile: {
      source: resolved.source,
      code: resolved.profile,
      label: profile?.label ?? null,
      label_en: profile?.labelEn ?? null,
      range: profile?.range ?? null,
    },
    limits: { min_c: l.min, max_c: l.max, critical_min_c: l.criticalMin, critical_max_c: l.criticalMax, mkt_max_c: l.mktMax, mkt_window_s: l.mktWindowS },
    readings: {
      count,
      first_at: time(
        (s) => s.first_at,
        (a, b) => a < b,
      ),
      last_at: time(
        (s) => s.last_at,
        (a, b) => a > b,
      ),
      sensors: stats,
    },
    mkt,
    excursions: excursions.map((e) => ({
      id: e.id,
      sensor: e.sensor,
      kind: e.kind,
      severity: e.severity,
      status: e.status,
      started_at: e.started_at,
      ended_at: e.ended_at,
      duration_s: e.duration_s,
      peak_c: e.peak_c,
      peak_at: e.peak_at,
      mean_c: e.mean_c,
      readings: e.readings,
      door_open_s: e.door_open_s,
      mkt_c: e.mkt_c,
      actions: e.actions.map((a) => ({
        action: a.action,
        note: a.note,
        by: { id: a.created_by, name: a.created_by === null ? null : (names.get(a.created_by) ?? null) },
        at: a.created_at,
      })),
    })),
  };
  return { summary, limits: l, readings };
}

export const CSV_COLUMNS = ['recorded_at', 'sensor', 'temperature_c', 'setpoint_c', 'door_open'] as const;

/**
 * RFC 4180 quoting, written here because no CSV library is among the dependencies and
 * five columns do not justify one: a field holding a comma, quote, CR or LF is quoted and
 * its quotes doubled. Only the sensor name is free text. A sensor name starting with
 * = + - @ (a spreadsheet formula) is prefixed with an apostrophe (OWASP CSV injection).
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * Every reading in time order as CSV: one header row with the API's field names, CRLF
 * line ends, times in UTC ISO 8601 like the JSON API, empty fields for absent setpoint
 * or door state. Starts with a UTF-8 byte-order mark so Excel (what shippers open it
 * with) reads Korean sensor names as UTF-8; csv-parse (`bom: true`), Python's
 * `utf-8-sig` and pandas skip it.
 */
export function renderTemperatureCsv(readings: ReportReading[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of readings) {
    lines.push(
      [
        r.recorded_at.toISOString(),
        csvField(r.sensor),
        String(r.temperature_c),
        r.setpoint_c === null ? '' : String(r.setpoint_c),
        r.door_open === null ? '' : String(r.door_open),
      ].join(','),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
