/**
 * npm run bench:dispatch: dispatch suggestions and plans (issue 18), end to end over HTTP against the
 * compiled API on fresh databases.
 *
 * 1. Suggestions: one PENDING order's GET /orders/:id/suggestions?limit=5 among BENCH_DISPATCH_VEHICLES
 *    (1,000) vehicles, each with a driver; most have a GPS fix, a third a recent reefer reading, a tenth
 *    are on an active dispatch, a fifth drove today (status history for the driving-time rules).
 *    BENCH_DISPATCH_REQUESTS sequential requests after a warm-up: p50, p95, p99. Target: p95 < 50 ms.
 * 2. Plans: POST /dispatch-plans for every PENDING order, BENCH_DISPATCH_ORDERS (500) of them, over
 *    BENCH_DISPATCH_PLAN_VEHICLES (200) vehicles on a second database: wall time per plan (target < 1 s),
 *    the solver's own time, and the total score and orders assigned against the greedy baseline on the
 *    same input (both reported by the plan itself). Then the last plan is applied once: every dispatch
 *    in one transaction.
 * The load generator shares the machine's cores with the API and PostgreSQL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import { createDb, type Db } from '../db/knex.js';
import { districts } from '../db/districts.js';
import { ensurePostgres, ensureRedis } from '../lib/local-services.js';
import { projectPath } from '../lib/paths.js';
import { BENCH_ORDER, clearRedisPrefix, freshDatabase, login } from './bench/fixtures.js';
import { percentile } from './bench/load.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp } from './bench/processes.js';

const env = process.env;
const VEHICLES = Number(env.BENCH_DISPATCH_VEHICLES ?? 1000);
const REQUESTS = Number(env.BENCH_DISPATCH_REQUESTS ?? 300);
const ORDERS = Number(env.BENCH_DISPATCH_ORDERS ?? 500);
const PLAN_VEHICLES = Number(env.BENCH_DISPATCH_PLAN_VEHICLES ?? 200);
const PLANS = Number(env.BENCH_DISPATCH_PLANS ?? 5);
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchdispatch';
const PORT = 3207;

/** A seeded generator: the same fleet every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = [
  { type: 'REFRIGERATED', classes: ['CHILLED', 'FROZEN'] },
  { type: 'REFRIGERATED', classes: ['CHILLED', 'FROZEN', 'AMBIENT'] },
  { type: 'FREEZER', classes: ['FROZEN'] },
  { type: 'DRY', classes: ['AMBIENT'] },
];
const CARGO = ['CHILLED', 'CHILLED', 'FROZEN', 'AMBIENT'];

/** A fleet spread over Korea's districts, with positions, readings, busy trucks and today's driving. */
async function seedFleet(db: Db, count: number, random: () => number): Promise<void> {
  const places = districts();
  const near = () => {
    const d = places[Math.floor(random() * places.length)]!;
    return { lat: d.lat + (random() - 0.5) * 0.1, lng: d.lng + (random() - 0.5) * 0.1 };
  };
  const now = Date.now();
  await db.transaction(async (trx) => {
    for (let i = 0; i < count; i++) {
      const kind = TYPES[Math.floor(random() * TYPES.length)]!;
      const base = near();
      const [vehicle] = await trx('vehicles')
        .insert({
          license_plate: `D${100000 + i}`,
          vehicle_type: kind.type,
          cargo_classes: kind.classes,
          capacity_kg: [1000, 2500, 5000, 11_000, 25_000][Math.floor(random() * 5)],
          base_lat: base.lat,
          base_lng: base.lng,
        })
        .returning('id');
      const [driver] = await trx('drivers')
        .insert({ name: `벤치 기사 ${i}`, vehicle_id: vehicle.id })
        .returning('id');
      if (random() < 0.8) {
        const at = near();
        await trx('driver_positions').insert({
          driver_id: driver.id,
          vehicle_id: vehicle.id,
          latitude: at.lat,
          longitude: at.lng,
          recorded_at: new Date(now - random() * 3_600_000),
        });
      }
      if (random() < 0.35) {
        await trx('temperature_readings').insert(
          ['main', 'rear'].map((sensor, k) => ({
            vehicle_id: vehicle.id,
            sensor,
            recorded_at: new Date(now - (k + 1) * 60_000),
            temperature_c: Math.round((random() * 30 - 20) * 10) / 10,
            source: 'gateway',
          })),
        );
      }
      const busy = random() < 0.1;
      const droveToday = !busy && random() < 0.2;
      if (busy || droveToday) {
        const [order] = await trx('orders')
          .insert({ ...BENCH_ORDER, status: busy ? 'IN_TRANSIT' : 'COMPLETED' })
          .returning('id');
        const start = new Date(now - (1 + random() * 4) * 3_600_000);
        const end = new Date(start.getTime() + random() * 3 * 3_600_000);
        const [dispatch] = await trx('dispatches')
          .insert({
            order_id: order.id,
            vehicle_id: vehicle.id,
            driver_id: driver.id,
            status: busy ? 'IN_TRANSIT' : 'COMPLETED',
            created_at: new Date(start.getTime() - 600_000),
            finished_at: busy ? null : end,
          })
          .returning('id');
        const steps: [string, Date][] = [
          ['ASSIGNED', new Date(start.getTime() - 600_000)],
          ['PICKED_UP', start],
          ...(busy ? [] : ([['COMPLETED', end]] as [string, Date][])),
        ];
        await trx('dispatch_status_history').insert(
          steps.map(([to, at]) => ({
            event_id: Math.floor(random() * 2 ** 40),
            event_key: randomUUID(),
            dispatch_id: dispatch.id,
            to_status: to,
            changed_at: at,
          })),
        );
      }
    }
  });
}

async function seedOrders(db: Db, count: number, random: () => number): Promise<number[]> {
  const places = districts();
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const d = places[Math.floor(random() * places.length)]!;
    const [row] = await db('orders')
      .insert({
        client_id: 1 + Math.floor(random() * 5),
        pickup_address: `${d.sido} ${d.sigungu} 물류로 ${i + 1}`,
        delivery_address: '서울특별시 송파구 올림픽로 300',
        pickup_lat: d.lat + (random() - 0.5) * 0.05,
        pickup_lng: d.lng + (random() - 0.5) * 0.05,
        cargo_type: CARGO[Math.floor(random() * CARGO.length)],
        weight_kg: [300, 800, 1500, 3000, 8000][Math.floor(random() * 5)],
      })
      .returning('id');
    ids.push(row.id);
  }
  return ids;
}

async function prepare(name: string, vehicles: number, orders: number, seed: number): Promise<{ url: string; orderIds: number[] }> {
  const url = await freshDatabase(BASE_DB, name);
  const db = createDb({ url, poolMin: 0, poolMax: 2, statementTimeoutMs: 120_000 });
  try {
    const random = rng(seed);
    // The demo orders stay out of the measured board.
    await db('orders').where({ status: 'PENDING' }).update({ status: 'CANCELLED' });
    await db('vehicles').update({ active: false });
    await seedFleet(db, vehicles, random);
    const orderIds = await seedOrders(db, orders, random);
    await db.raw('analyze');
    return { url, orderIds };
  } finally {
    await db.destroy();
  }
}

async function withApi<T>(url: string, work: (base: string, token: string) => Promise<T>): Promise<T> {
  await clearRedisPrefix(REDIS, PREFIX);
  const api = spawnNode('dist/main.js', ['api'], { ...uvisEnv(url, REDIS, PREFIX), RATE_LIMITS: 'off', PORT: String(PORT) });
  try {
    const base = `http://127.0.0.1:${PORT}`;
    await waitForHttp(`${base}/api/v1/health`, 60_000, api);
    return await work(base, await login(base, 'dispatcher@example.com', 'dispatchpass'));
  } finally {
    await api.stop();
  }
}

async function timed(base: string, token: string, method: string, path: string, body?: unknown) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return { ms, body: JSON.parse(text), bytes: text.length };
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function main() {
  ensureBuilt();
  await ensurePostgres(BASE_DB);
  await ensureRedis(REDIS);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: round(totalmem() / 2 ** 30), node: process.version };

  console.log(`preparing: ${VEHICLES} vehicles with drivers and 1 pending order`);
  const one = await prepare('uvis_bench_dispatch_suggest', VEHICLES, 1, 18);
  const suggestions = await withApi(one.url, async (base, token) => {
    const path = `/api/v1/orders/${one.orderIds[0]}/suggestions?limit=5`;
    for (let i = 0; i < 20; i++) await timed(base, token, 'GET', path);
    const latencies: number[] = [];
    let last: { items: unknown[]; excluded: unknown[] } | undefined;
    let bytes = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const r = await timed(base, token, 'GET', path);
      latencies.push(r.ms);
      last = r.body;
      bytes = r.bytes;
    }
    latencies.sort((a, b) => a - b);
    return {
      vehicles: VEHICLES,
      requests: REQUESTS,
      p50_ms: round(percentile(latencies, 50), 2),
      p95_ms: round(percentile(latencies, 95), 2),
      p99_ms: round(percentile(latencies, 99), 2),
      max_ms: round(latencies[latencies.length - 1]!, 2),
      items: last!.items.length,
      excluded: last!.excluded.length,
      response_bytes: bytes,
    };
  });
  console.log(
    `suggestions among ${VEHICLES} vehicles: p50 ${suggestions.p50_ms} ms, p95 ${suggestions.p95_ms} ms, p99 ${suggestions.p99_ms} ms (target p95 < 50 ms); ` +
      `${suggestions.items} suggested, ${suggestions.excluded} excluded, ${suggestions.response_bytes} bytes`,
  );

  console.log(`preparing: ${PLAN_VEHICLES} vehicles with drivers and ${ORDERS} pending orders`);
  const board = await prepare('uvis_bench_dispatch_plan', PLAN_VEHICLES, ORDERS, 1818);
  const plans = await withApi(board.url, async (base, token) => {
    const runs = [];
    let last:
      | {
          id: number;
          assignments: unknown[];
          unassigned: unknown[];
          total_score: number;
          stats: { solver_ms: number; greedy: { assigned: number; total_score: number } };
        }
      | undefined;
    for (let i = 0; i < PLANS; i++) {
      const r = await timed(base, token, 'POST', '/api/v1/dispatch-plans', {});
      last = r.body;
      runs.push({ wall_ms: round(r.ms), solver_ms: r.body.stats.solver_ms });
    }
    const applied = await timed(base, token, 'POST', `/api/v1/dispatch-plans/${last!.id}/apply`);
    const walls = runs.map((r) => r.wall_ms).sort((a, b) => a - b);
    return {
      orders: ORDERS,
      vehicles: PLAN_VEHICLES,
      runs,
      wall_ms_median: walls[Math.floor(walls.length / 2)]!,
      wall_ms_max: walls[walls.length - 1]!,
      assigned: last!.assignments.length,
      unassigned: last!.unassigned.length,
      total_score: last!.total_score,
      greedy: last!.stats.greedy,
      apply_ms: round(applied.ms),
      applied_dispatches: applied.body.dispatches.length,
    };
  });
  console.log(
    `plan of ${ORDERS} orders over ${PLAN_VEHICLES} vehicles: ${plans.wall_ms_median} ms median, ${plans.wall_ms_max} ms max end to end (target < 1 s); ` +
      `solver ${plans.runs.map((r) => r.solver_ms).join(', ')} ms`,
  );
  console.log(
    `  optimal: ${plans.assigned} assigned, total score ${plans.total_score}; greedy (oldest order first, best free vehicle): ` +
      `${plans.greedy.assigned} assigned, total score ${plans.greedy.total_score}`,
  );
  console.log(`  apply: ${plans.applied_dispatches} dispatches in one transaction, ${plans.apply_ms} ms`);

  const results = { when: new Date().toISOString(), machine, suggestions, plans };
  mkdirSync(projectPath('bench-results'), { recursive: true });
  const file = projectPath('bench-results', `bench-dispatch-${results.when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`\nresults: ${file}`);
  const failed = suggestions.p95_ms >= 50 || plans.wall_ms_max >= 1000;
  if (failed) console.log('a target was missed');
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
