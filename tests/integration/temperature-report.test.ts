/**
 * GET /dispatches/:id/temperature-report over HTTP against a real database: the JSON
 * summary's statistics, the CSV log (parsed back, every reading in time order), the PDF
 * (read back with poppler's pdftotext: dispatch number, excursion and action, every
 * reading, page numbers), a dispatch without readings, and who may read it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertReadings, type ReadingRow } from '../../db/temperatures.js';
import { meanKineticTemperatureC } from '../../domain/excursions.js';
import { DEMO_DISPATCHER } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const CARRIER = '한빛냉장운송';
const MINUTE = 60_000;
const ODD_SENSOR = 'rear,"door"'; // not a name the ingest API accepts, but the CSV must survive any stored name

let uvis: TestUvis;
let admin: string;
let dispatcher: string;
let tmp: string;

beforeAll(async () => {
  // No workers: readings are written with the data module, so no evaluation runs beside the test.
  uvis = await startTestUvis({ role: 'api', env: { CARRIER_NAME: CARRIER } });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
  tmp = mkdtempSync(join(tmpdir(), 'uvis-report-'));
});
afterAll(async () => {
  await uvis?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const db = () => uvis.running.deps.db;

/** A vehicle, a driver with a sign-in, an order and its dispatch, started `hoursAgo` (readings attach by recorded_at). */
async function dispatchStarted(hoursAgo: number, orderOverrides: Record<string, unknown> = {}) {
  const plate = `냉${Math.floor(Math.random() * 9000 + 1000)}`;
  const vehicle = await createVehicle(uvis.api, admin, { license_plate: plate });
  const driver = await createDriverAccount(uvis.api, admin);
  const order = await createOrder(uvis.api, admin, { pickup_address: '서울시 송파구 가락시장', delivery_address: '부산시 해운대구 우동 1', ...orderOverrides });
  const res = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
  expect(res.status, res.text).toBe(201);
  const dispatchId = res.body.id as number;
  await db()('dispatches')
    .where('id', dispatchId)
    .update({ created_at: new Date(Date.now() - hoursAgo * 3600_000) });
  return { dispatchId, vehicleId: vehicle.id, plate, driver, orderId: order.id };
}

async function store(rows: ReadingRow[]) {
  await db().transaction((trx) => insertReadings(trx, rows));
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** RFC 4180 reader (quoted fields, doubled quotes, CRLF), written for the test: no CSV library is a dependency. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

async function download(path: string, token: string, accept: string) {
  const res = await fetch(`${uvis.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

function pdfText(bytes: Buffer): string {
  const file = join(tmp, `r${Math.random().toString(16).slice(2)}.pdf`);
  writeFileSync(file, bytes);
  return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
}

/** Times in the PDF's reading table ("11-29 01:14:00"), not the dates elsewhere ("2026-11-29 00:00:00"). */
const tableTimes = (text: string) => text.match(/(?<![\d-])\d{2}-\d{2} \d{2}:\d{2}:\d{2}/g) ?? [];

describe('temperature record of a 24-hour trip', () => {
  let trip: Awaited<ReturnType<typeof dispatchStarted>>;
  let readings: ReadingRow[];
  const start = Date.now() - 25 * 3600_000;

  beforeAll(async () => {
    trip = await dispatchStarted(26);
    const now = new Date();
    const main: ReadingRow[] = Array.from({ length: 1440 }, (_, i) => ({
      vehicle_id: trip.vehicleId,
      sensor: 'main',
      recorded_at: new Date(start + i * MINUTE),
      temperature_c: Math.round((3 + ((i * 7) % 23) / 10 - (i === 700 ? 2.5 : 0)) * 100) / 100,
      setpoint_c: 4,
      door_open: i % 100 === 0,
      source: 'gateway',
      received_at: now,
    }));
    const odd: ReadingRow[] = [0, 1, 2].map((i) => ({
      vehicle_id: trip.vehicleId,
      sensor: ODD_SENSOR,
      recorded_at: new Date(start + i * 30 * MINUTE + 30_000),
      temperature_c: [-1.25, 0, 11.5][i]!,
      setpoint_c: null,
      door_open: null,
      source: 'driver',
      received_at: now,
    }));
    readings = [...main, ...odd];
    await store(shuffled(readings));

    // An excursion as the evaluator stores it, and a dispatcher's corrective action on it.
    const [excursion] = await db()('temperature_excursions')
      .insert({
        dispatch_id: trip.dispatchId,
        vehicle_id: trip.vehicleId,
        sensor: ODD_SENSOR,
        kind: 'HIGH',
        severity: 'WARNING',
        status: 'CLOSED',
        started_at: new Date(start + 60 * MINUTE + 30_000),
        ended_at: new Date(start + 75 * MINUTE),
        duration_s: 870,
        peak_c: 11.5,
        peak_at: new Date(start + 60 * MINUTE + 30_000),
        mean_c: 11.5,
        readings: 1,
      })
      .returning('id');
    const dispatcherUser = await db()('users').where('email', DEMO_DISPATCHER.email).first('id');
    await db()('excursion_actions').insert({ excursion_id: excursion.id, action: 'CLOSED_DOOR', note: '뒷문 닫고 점검함', created_by: dispatcherUser.id });
  });

  it('JSON summary (the default): parties, limits from the cargo class, count, first/last and min/max/mean per sensor, the excursion with its action', async () => {
    const res = await uvis.api.get(`/api/v1/dispatches/${trip.dispatchId}/temperature-report`, dispatcher);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const s = res.body;
    expect(s.carrier).toBe(CARRIER);
    expect(s.dispatch.id).toBe(trip.dispatchId);
    expect(s.order).toMatchObject({ id: trip.orderId, cargo_type: 'CHILLED', cargo_label: '냉장', pickup_address: '서울시 송파구 가락시장' });
    expect(s.vehicle.license_plate).toBe(trip.plate);
    expect(s.driver.id).toBe(trip.driver.driverId);
    expect(s.profile).toMatchObject({ source: 'CARGO_CLASS', code: 'CHILLED', label: '냉장' });
    expect(s.limits).toMatchObject({ min_c: 0, max_c: 10, critical_max_c: null });
    expect(s.readings.count).toBe(1443);
    expect(s.readings.first_at).toBe(new Date(start).toISOString());
    expect(s.readings.last_at).toBe(new Date(start + 1439 * MINUTE).toISOString());
    for (const sensor of ['main', ODD_SENSOR]) {
      const temps = readings.filter((r) => r.sensor === sensor).map((r) => r.temperature_c);
      const stats = s.readings.sensors.find((x: { sensor: string }) => x.sensor === sensor);
      expect(stats, sensor).toMatchObject({
        readings: temps.length,
        min_c: Math.min(...temps),
        max_c: Math.max(...temps),
        mean_c: Math.round((temps.reduce((a, b) => a + b, 0) / temps.length) * 100) / 100,
      });
    }
    expect(s.readings.sensors.find((x: { sensor: string }) => x.sensor === 'main').min_c).toBe(0.6); // reading 700 (3.1 - 2.5), below the others
    expect(s.excursions).toHaveLength(1);
    expect(s.excursions[0]).toMatchObject({ sensor: ODD_SENSOR, kind: 'HIGH', status: 'CLOSED', peak_c: 11.5, duration_s: 870 });
    expect(s.excursions[0].actions).toEqual([
      { action: 'CLOSED_DOOR', note: '뒷문 닫고 점검함', by: { id: expect.any(Number), name: '배차 담당자' }, at: expect.any(String) },
    ]);
    expect(Date.parse(s.generated_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('CSV (Accept: text/csv): a download listing every reading once, in time order, values as stored, odd names quoted', async () => {
    const res = await download(`/api/v1/dispatches/${trip.dispatchId}/temperature-report`, dispatcher, 'text/csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="dispatch-${trip.dispatchId}-temperatures.csv"`);
    expect(res.headers.get('vary')).toMatch(/Accept/);
    const text = res.bytes.toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    const [header, ...rows] = parseCsv(text.slice(1));
    expect(header).toEqual(['recorded_at', 'sensor', 'temperature_c', 'setpoint_c', 'door_open']);
    expect(rows).toHaveLength(readings.length);
    const expected = [...readings]
      .sort((a, b) => a.recorded_at.getTime() - b.recorded_at.getTime() || (a.sensor < b.sensor ? -1 : 1))
      .map((r) => [
        r.recorded_at.toISOString(),
        r.sensor,
        String(r.temperature_c),
        r.setpoint_c === null ? '' : String(r.setpoint_c),
        r.door_open === null ? '' : String(r.door_open),
      ]);
    expect(rows).toEqual(expected);
    expect(rows.filter((r) => r[1] === ODD_SENSOR)).toHaveLength(3);
    // ?format= overrides Accept, for a download link.
    const linked = await download(`/api/v1/dispatches/${trip.dispatchId}/temperature-report?format=csv`, dispatcher, 'text/html');
    expect(linked.bytes.equals(res.bytes)).toBe(true);
  });

  it('PDF (Accept: application/pdf): opens, names the dispatch, carrier and plate in Korean-first labels, the excursion and its action, every reading, numbered pages', async () => {
    const res = await download(`/api/v1/dispatches/${trip.dispatchId}/temperature-report`, admin, 'application/pdf');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="dispatch-${trip.dispatchId}-temperatures.pdf"`);
    expect(res.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const text = pdfText(res.bytes);
    expect(text).toContain('온도 기록 · Temperature record');
    expect(text).toContain(`Dispatch #${trip.dispatchId}`);
    expect(text).toContain(CARRIER);
    expect(text).toContain(trip.plate);
    expect(text).toContain('서울시 송파구 가락시장');
    expect(text).toContain('min 0.0 °C, max 10.0 °C');
    expect(text).toMatch(/HIGH WARNING CLOSED/);
    expect(text).toMatch(/CLOSED_DOOR, 담당 · by 배차 담당자/);
    expect(text).toContain('뒷문 닫고 점검함');
    expect(tableTimes(text)).toHaveLength(readings.length);
    const pages = Number(/Page 1 \/ (\d+)/.exec(text)?.[1]);
    expect(pages).toBeGreaterThan(5);
    expect(text).toContain(`Page ${pages} / ${pages}`);
  });

  it('Accept without any of the three media types, or none at all, gets the JSON summary', async () => {
    for (const accept of ['text/html', '*/*']) {
      const res = await uvis.api.request('GET', `/api/v1/dispatches/${trip.dispatchId}/temperature-report`, { token: dispatcher, headers: { accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type'), accept).toMatch(/^application\/json/);
      expect(res.body.readings.count).toBe(1443);
    }
  });
});

describe('PHARMA_2_8: the rolling 24 h mean kinetic temperature', () => {
  it('reports the warmest full 24 h window per sensor against the 8 °C limit, in JSON and in the PDF; other profiles have none', async () => {
    const trip = await dispatchStarted(31, { temperature_profile: 'PHARMA_2_8' });
    const start = Date.now() - 30 * 3600_000;
    // 30 h at one reading every 10 min: 5 °C, with 6 h at 14 °C from hour 12 (warm, not critical: above 15 is).
    const rows: ReadingRow[] = Array.from({ length: 180 }, (_, i) => ({
      vehicle_id: trip.vehicleId,
      sensor: 'main',
      recorded_at: new Date(start + i * 10 * MINUTE),
      temperature_c: i >= 72 && i < 108 ? 14 : 5,
      setpoint_c: 5,
      door_open: null,
      source: 'gateway',
      received_at: new Date(),
    }));
    await store(shuffled(rows));
    // Every full 24 h window holding the warm 6 h holds 108 readings at 5 °C and 36 at 14 °C: the highest MKT.
    const expected = Math.round(meanKineticTemperatureC([...Array(108).fill(5), ...Array(36).fill(14)])! * 100) / 100;
    expect(expected).toBeGreaterThan(8);

    const json = await uvis.api.get(`/api/v1/dispatches/${trip.dispatchId}/temperature-report`, dispatcher);
    expect(json.status, json.text).toBe(200);
    expect(json.body.limits).toMatchObject({ mkt_max_c: 8, mkt_window_s: 86_400 });
    expect(json.body.mkt).toHaveLength(1);
    expect(json.body.mkt[0]).toMatchObject({
      sensor: 'main',
      window_s: 86_400,
      mkt_c: expected,
      readings: 144,
      complete_window: true,
      limit_c: 8,
      within_limit: false,
    });

    const pdf = await download(`/api/v1/dispatches/${trip.dispatchId}/temperature-report`, dispatcher, 'application/pdf');
    const text = pdfText(pdf.bytes);
    expect(text).toContain(`MKT main`);
    expect(text).toContain(`${expected.toFixed(1)} °C`);
    expect(text).toMatch(/초과 · ABOVE THE LIMIT/);

    const chilled = await dispatchStarted(1);
    expect((await uvis.api.get(`/api/v1/dispatches/${chilled.dispatchId}/temperature-report`, dispatcher)).body.mkt).toBeNull();
  });
});

describe('a dispatch without readings', () => {
  it('still has a record, saying there are none, in every format', async () => {
    const { dispatchId } = await dispatchStarted(1);
    const json = await uvis.api.get(`/api/v1/dispatches/${dispatchId}/temperature-report`, dispatcher);
    expect(json.status).toBe(200);
    expect(json.body.readings).toEqual({ count: 0, first_at: null, last_at: null, sensors: [] });
    expect(json.body.excursions).toEqual([]);
    const csv = await download(`/api/v1/dispatches/${dispatchId}/temperature-report`, dispatcher, 'text/csv');
    expect(parseCsv(csv.bytes.toString('utf8').slice(1))).toEqual([['recorded_at', 'sensor', 'temperature_c', 'setpoint_c', 'door_open']]);
    const pdf = await download(`/api/v1/dispatches/${dispatchId}/temperature-report`, dispatcher, 'application/pdf');
    const text = pdfText(pdf.bytes);
    expect(text).toContain(`Dispatch #${dispatchId}`);
    expect(text).toContain('No readings were recorded for this dispatch.');
    expect(text).toContain('No excursions.');
    expect(tableTimes(text)).toHaveLength(0);
  });
});

describe('who may read the record', () => {
  it("staff and the dispatch's own driver; another driver and an unknown dispatch get 404", async () => {
    const { dispatchId, driver } = await dispatchStarted(1);
    const other = await createDriverAccount(uvis.api, admin);
    const path = `/api/v1/dispatches/${dispatchId}/temperature-report`;
    expect((await uvis.api.get(path, driver.token)).status).toBe(200);
    expect((await download(path, driver.token, 'application/pdf')).status).toBe(200);
    for (const accept of ['application/json', 'text/csv', 'application/pdf']) {
      const res = await download(path, other.token, accept);
      expect(res.status, accept).toBe(404);
      expect(res.headers.get('content-type'), accept).toMatch(/^application\/json/);
    }
    expect((await uvis.api.get('/api/v1/dispatches/99999999/temperature-report', admin)).status).toBe(404);
    expect((await download('/api/v1/dispatches/99999999/temperature-report', admin, 'application/pdf')).status).toBe(404);
    expect((await uvis.api.get(path)).status).toBe(401);
  });
});
