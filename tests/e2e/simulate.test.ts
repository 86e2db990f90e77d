/**
 * npm run simulate against a real UVIS (API and workers in this process), as a child
 * process for a short bounded run at high speed: it creates and assigns orders, and
 * every truck's GPS points and temperature readings are stored; the door-open truck's
 * readings go above its limit; it exits 0 when SIMULATE_MINUTES is up.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const run = promisify(execFile);

let uvis: TestUvis;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
});
afterAll(async () => {
  await uvis?.stop();
});

describe('npm run simulate', () => {
  it('drives three trucks through the API: orders, dispatches, GPS and temperatures, one door-open excursion', { timeout: 60_000 }, async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', projectPath('scripts', 'simulate.ts')], {
      cwd: projectPath(),
      env: {
        ...process.env,
        SIMULATE_URL: uvis.baseUrl,
        SIMULATE_TRUCKS: '3',
        SIMULATE_SPEED: '3000',
        SIMULATE_TICK_MS: '250',
        SIMULATE_MINUTES: '0.2',
        SIMULATE_DOOR_OPEN_SECONDS: '2',
        SIMULATE_DOOR_OPEN_MINUTES: '30',
      },
    });
    if (process.env.SIMULATE_TEST_VERBOSE) console.log(stdout);
    expect(stdout).toContain('simulator stopped (SIMULATE_MINUTES)');
    expect(stdout).toContain('door left open');

    const db = uvis.running.deps.db;
    const dispatches = await db('dispatches as d')
      .join('orders as o', 'o.id', 'd.order_id')
      .where('o.notes', 'UVIS 시뮬레이터 · simulator')
      .select('d.id', 'd.vehicle_id', 'd.driver_id', 'd.status', 'o.cargo_type');
    expect(new Set(dispatches.map((d) => d.vehicle_id))).toEqual(new Set([2, 4, 5]));
    // At 3000x a trip takes seconds: some were delivered and completed, others are on the road.
    expect(dispatches.some((d) => ['DELIVERED', 'COMPLETED'].includes(d.status))).toBe(true);

    // The workers store posts moments later.
    const settle = Date.now() + 10_000;
    let gps: { driver_id: number; n: number }[] = [];
    let readings: { vehicle_id: number; n: number; max: number; attached: number }[] = [];
    while (Date.now() < settle) {
      gps = await db('vehicle_locations').whereIn('driver_id', [2, 3, 4]).groupBy('driver_id').select('driver_id', db.raw('count(*)::int as n'));
      readings = await db('temperature_readings')
        .whereIn('vehicle_id', [2, 4, 5])
        .groupBy('vehicle_id')
        .select('vehicle_id', db.raw('count(*)::int as n'), db.raw('max(temperature_c)::float as max'), db.raw('count(dispatch_id)::int as attached'));
      if (gps.length === 3 && readings.length === 3) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(gps.map((g) => g.driver_id).sort()).toEqual([2, 3, 4]);
    for (const g of gps) expect(g.n).toBeGreaterThan(5);
    expect(readings.map((r) => r.vehicle_id).sort()).toEqual([2, 4, 5]);
    for (const r of readings) {
      expect(r.n).toBeGreaterThan(5);
      expect(r.attached).toBe(r.n);
    }
    // The freezer (FROZEN, at most −18 °C) with its door open went well above its limit; the others stayed in range.
    const byVehicle = Object.fromEntries(readings.map((r) => [r.vehicle_id, r]));
    expect(byVehicle[2]!.max).toBeGreaterThan(-15);
    expect(byVehicle[4]!.max).toBeLessThan(10);
    expect(byVehicle[5]!.max).toBeLessThan(10);
  });
});
