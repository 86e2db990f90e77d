/**
 * npm run simulate: drives a few demo trucks along real Korean routes through the
 * public API of a running UVIS (npm start), so that the dashboard moves: orders,
 * assignments, status changes, GPS every tick and reefer temperatures, with one truck
 * whose cargo door is left open at a rest stop long enough for an excursion.
 * HTTP only (no database access); 429 and 503 are retried after Retry-After; every
 * POST carries an Idempotency-Key. Ctrl-C stops it cleanly.
 *
 * Options (environment):
 *   SIMULATE_URL=http://localhost:3000   the UVIS to drive
 *   SIMULATE_TRUCKS=3                    1 to 3 (the demo's driver accounts)
 *   SIMULATE_SPEED=60                    simulated seconds per real second (60: a minute a second)
 *   SIMULATE_TICK_MS=2000                real time between a truck's posts
 *   SIMULATE_MINUTES=                    stop after this many real minutes (fractions allowed); until Ctrl-C otherwise
 *   SIMULATE_DOOR_OPEN_SECONDS=660       real seconds the door stays open (above EXCURSION_OPEN_AFTER_S, 600 by default)
 *   SIMULATE_DOOR_OPEN_MINUTES=20        and at least this many simulated minutes
 *   SIMULATE_KMH=80                      driving speed, simulated km/h
 */
import { Http } from './simulate/http.js';
import { ROUTES } from './simulate/routes.js';
import { Truck, type TruckPlan } from './simulate/truck.js';

const env = process.env;
const num = (name: string, fallback: number) => {
  const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: expected a number, got ${env[name]}`);
  return value;
};
const BASE = (env.SIMULATE_URL ?? 'http://localhost:3000').replace(/\/$/, '');
const TRUCKS = Math.min(3, Math.max(1, Math.round(num('SIMULATE_TRUCKS', 3))));
const MINUTES = num('SIMULATE_MINUTES', 0);
const settings = {
  speed: num('SIMULATE_SPEED', 60),
  tickMs: Math.max(100, num('SIMULATE_TICK_MS', 2000)),
  doorOpenSeconds: num('SIMULATE_DOOR_OPEN_SECONDS', 660),
  doorOpenSimMinutes: num('SIMULATE_DOOR_OPEN_MINUTES', 20),
  kmh: num('SIMULATE_KMH', 80),
};

/** The demo's three driver accounts (db/demo-data.ts), each with a reefer truck; the first leaves its door open. */
const PLANS: TruckPlan[] = [
  {
    email: 'driver2@example.com',
    password: 'driverpass',
    driverId: 2,
    vehicleId: 2,
    plate: '34나5678',
    route: ROUTES[1]!,
    cargo: 'FROZEN',
    setpoint: -20,
    maxC: -18,
    weight: 3000,
    doorIncident: true,
    gateway: false,
  },
  {
    email: 'driver4@example.com',
    password: 'driverpass',
    driverId: 4,
    vehicleId: 4,
    plate: '78라1234',
    route: ROUTES[0]!,
    cargo: 'CHILLED',
    setpoint: 4,
    maxC: 10,
    weight: 1500,
    doorIncident: false,
    gateway: false,
  },
  // Driver 3's own truck is a dry van: the simulator gives him reefer 5 and reports its temperatures as a vehicle gateway.
  {
    email: 'driver3@example.com',
    password: 'driverpass',
    driverId: 3,
    vehicleId: 5,
    plate: '90마5678',
    route: ROUTES[2]!,
    cargo: 'CHILLED',
    setpoint: 3,
    maxC: 10,
    weight: 2500,
    doorIncident: false,
    gateway: true,
  },
];

const time = () => new Date().toLocaleTimeString('en-GB', { timeZone: 'Asia/Seoul' });
const log = (line: string) => console.log(`${time()} ${line}`);

async function main(): Promise<number> {
  const http = new Http(BASE);
  log(`UVIS 시뮬레이터 시작: 트럭 ${TRUCKS}대, ${settings.speed}배속 · simulator: ${TRUCKS} trucks against ${BASE}, ${settings.speed}x time`);
  const stop = new AbortController();
  let stopping = '';
  const onSignal = (signal: string) => {
    if (stopping) process.exit(130); // a second Ctrl-C: leave at once
    stopping = signal;
    log(`중지 중 (${signal}): 현재 전송을 마칩니다 · stopping: finishing the posts in flight (Ctrl-C again to quit at once)`);
    stop.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const timer = MINUTES > 0 ? setTimeout(() => ((stopping = 'SIMULATE_MINUTES'), stop.abort()), MINUTES * 60_000) : undefined;

  const staff = {
    admin: { token: await http.login('test@example.com', 'testpass') },
    dispatcher: { token: await http.login('dispatcher@example.com', 'dispatchpass') },
  };
  const trucks = PLANS.slice(0, TRUCKS).map((plan) => new Truck(plan, http, staff, settings, stop.signal, log));
  const results = await Promise.allSettled(trucks.map((t) => t.run()));
  clearTimeout(timer);

  let failed = 0;
  results.forEach((r, i) => {
    const s = trucks[i]!.stats;
    const plan = PLANS[i]!;
    if (r.status === 'rejected') {
      failed++;
      log(`[${plan.plate}] 오류 · error: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    }
    log(
      `[${plan.plate}] 요약 · summary: ${s.trips} trips delivered, dispatches ${s.dispatchIds.join(', ') || '-'}, ${s.gpsPoints} GPS points, ${s.readings} readings, peak ${Number.isFinite(s.peakC) ? s.peakC.toFixed(1) : '-'} °C`,
    );
  });
  const retried = Object.entries(http.retries).map(([k, v]) => `${k}: ${v}`);
  if (retried.length) log(`재시도 · retried: ${retried.join(', ')}`);
  log(`시뮬레이터 종료 · simulator stopped${stopping ? ` (${stopping})` : ''}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
