/**
 * npm run simulate against a real UVIS (API and workers in this process), as a child
 * process for a short bounded run at high speed: it creates and assigns orders, and
 * every truck's GPS points and temperature readings are stored; the door-open truck's
 * readings go above its limit; it exits 0 when SIMULATE_MINUTES is up.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { Http } from '../../scripts/simulate/http.js';
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
      // Wait for what is asserted below, not for the first row of each: a vehicle seen once may still have posts in flight.
      const settled = gps.length === 3 && gps.every((g) => g.n > 5) && readings.length === 3 && readings.every((r) => r.n > 5 && r.attached === r.n);
      if (settled) break;
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

  it('stops cleanly on Ctrl-C, and a new run clears what the interrupted one left (exit 0 both times)', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', projectPath('scripts', 'simulate.ts')], {
      cwd: projectPath(),
      env: { ...process.env, SIMULATE_URL: uvis.baseUrl, SIMULATE_SPEED: '600', SIMULATE_TICK_MS: '250', SIMULATE_DOOR_OPEN_SECONDS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while ((output.match(/IN_TRANSIT/g) ?? []).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exit, output).toBe(0);
    expect(output).toContain('simulator stopped (SIGINT)');
    expect(output).toContain('gateway key');

    const db = uvis.running.deps.db;
    const before = Number((await db('dispatches').max('id as max').first())?.max ?? 0);
    // The trucks stopped mid-trip: their dispatches are still active, and the next run fails them before assigning new ones.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', projectPath('scripts', 'simulate.ts')], {
      cwd: projectPath(),
      env: { ...process.env, SIMULATE_URL: uvis.baseUrl, SIMULATE_SPEED: '600', SIMULATE_TICK_MS: '250', SIMULATE_MINUTES: '0.05' },
    });
    expect(stdout).toContain('marked FAILED');
    const created = new Set(await db('dispatches').where('id', '>', before).pluck('vehicle_id'));
    // A truck whose leftover was already DELIVERED with a temperature excursion (the door-open
    // truck, vehicle 2) cannot be completed until a dispatcher records a corrective action (the
    // completion gate): it waits and says so instead of taking a new order. Every other truck
    // starts a new trip.
    for (const vehicle of [2, 4, 5]) {
      if (!created.has(vehicle)) expect(stdout, `vehicle ${vehicle} got no new dispatch`).toMatch(/completion refused/);
    }
    expect(created.has(4) && created.has(5), stdout).toBe(true);
  });
});

describe('the simulator’s HTTP client', () => {
  it('retries 429 and 503 after Retry-After or a backoff, with the same Idempotency-Key', { timeout: 20_000 }, async () => {
    const seen: IncomingHttpHeaders[] = [];
    const answers = [
      [429, { 'retry-after': '1' }],
      [503, {}],
      [202, {}],
    ] as const;
    const server = createServer((req, res) => {
      seen.push(req.headers);
      const [status, headers] = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(status === 202 ? { job_id: '1' } : { error: 'busy' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const http = new Http(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const answer = await http.request<{ job_id: string }>('POST', '/api/v1/mobile/locations', { token: 't' }, { points: [] });
      expect(answer.job_id).toBe('1');
      expect(seen).toHaveLength(3);
      expect(new Set(seen.map((h) => h['idempotency-key'])).size).toBe(1);
      expect(seen[0]!['idempotency-key']).toMatch(/^sim-/);
      expect(http.retries).toEqual({ 429: 1, 503: 1 });
    } finally {
      server.close();
    }
  });
});
