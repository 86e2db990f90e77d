/**
 * npm run bench:telemetry (the second part of npm run bench): reefer temperature readings
 * stored per second, end to end, from 500-reading batches (issue 15: at least 20,000 a
 * second on the 2-core machine).
 *
 * Runs the compiled API and one worker (the telemetry queue) on a fresh database with
 * BENCH_TELEMETRY_VEHICLES reefers, each on an active dispatch (so every reading is
 * attached to a dispatch, as on the road) and with its own gateway API key created
 * through the admin API. BENCH_TELEMETRY_CLIENTS closed-loop clients post 500-reading
 * batches to POST /api/v1/telemetry/temperatures for BENCH_TELEMETRY_SECONDS, then the
 * benchmark waits until the telemetry queue is drained and counts the stored rows.
 * Prints readings stored per second (first post to last row stored), batches accepted
 * per second and the POST's p50/p95/p99. Everything, the load generator included,
 * shares the machine's cores.
 *
 * Options (environment): BENCH_TELEMETRY_SECONDS=20, BENCH_TELEMETRY_CLIENTS=8,
 * BENCH_TELEMETRY_VEHICLES=100, DATABASE_URL / REDIS_URL (servers to use), BENCH_WORKER_NODE_OPTIONS
 * (NODE_OPTIONS for the worker only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import pg from 'pg';
import { ensurePostgres, ensureRedis } from '../lib/local-services.js';
import { projectPath } from '../lib/paths.js';
import { clearRedisPrefix, createDrivers, freshDatabase, login } from './bench/fixtures.js';
import { percentile } from './bench/load.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp } from './bench/processes.js';

const env = process.env;
const SECONDS = Number(env.BENCH_TELEMETRY_SECONDS ?? 20);
const CLIENTS = Number(env.BENCH_TELEMETRY_CLIENTS ?? 8);
const VEHICLES = Number(env.BENCH_TELEMETRY_VEHICLES ?? 100);
const BATCH = 500;
const STEP_MS = 5;
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchtelemetry';
const PORTS = { api: 3205, worker: 9467 };

/** Jobs of the telemetry queue not yet finished, from the API's /metrics. */
async function pendingTelemetryJobs(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  return [...text.matchAll(/^uvis_queue_jobs\{queue="telemetry",state="(waiting|active|delayed|prioritized)"[^}]*\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[2]),
    0,
  );
}

async function countReadings(url: string): Promise<{ readings: number; attached: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('select count(*)::int as readings, count(dispatch_id)::int as attached from temperature_readings');
    return rows[0] as { readings: number; attached: number };
  } finally {
    await client.end();
  }
}

/**
 * A vehicle's next 500 readings, a chilled load around 3 °C. Readings are attached to
 * the dispatch holding the vehicle at recorded_at, which began moments before the run,
 * and may be at most 5 minutes ahead: so each vehicle's clock starts now and advances
 * STEP_MS a reading (far denser than a real logger's, to fit the volume in that window).
 */
function batchBody(clock: { next: number }): string {
  const readings = [];
  for (let i = 0; i < BATCH; i++) {
    const t = clock.next;
    clock.next += STEP_MS;
    readings.push({ recorded_at: new Date(t).toISOString(), temperature_c: Math.round((3 + Math.sin(t / 600_000) * 2) * 100) / 100, setpoint_c: 3 });
  }
  return JSON.stringify({ readings });
}

async function main() {
  ensureBuilt();
  await ensurePostgres(BASE_DB);
  await ensureRedis(REDIS);
  console.log(`preparing: fresh database, ${VEHICLES} reefers on active dispatches`);
  const url = await freshDatabase(BASE_DB, 'uvis_bench_telemetry');
  await createDrivers(url, VEHICLES);
  await clearRedisPrefix(REDIS, PREFIX);
  const common = { ...uvisEnv(url, REDIS, PREFIX), RATE_LIMITS: 'off' };
  const api = spawnNode('dist/main.js', ['api'], { ...common, PORT: String(PORTS.api) });
  const worker = spawnNode('dist/main.js', ['worker'], {
    ...common,
    METRICS_PORT: String(PORTS.worker),
    WORKER_QUEUES: 'telemetry',
    ...(env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: env.BENCH_WORKER_NODE_OPTIONS } : {}),
  });
  try {
    const base = `http://127.0.0.1:${PORTS.api}`;
    await Promise.all([waitForHttp(`${base}/api/v1/health`, 60_000, api), waitForHttp(`http://127.0.0.1:${PORTS.worker}/health`, 60_000, worker)]);

    // Gateway keys through the admin API, one per benchmark reefer (their plates start with B).
    const admin = await login(base, 'test@example.com', 'testpass');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const vehicleIds = (await db.query("select id from vehicles where license_plate like 'B%' order by id")).rows.map((r) => Number(r.id));
    await db.end();
    const keys: string[] = [];
    for (const vehicleId of vehicleIds) {
      const res = await fetch(`${base}/api/v1/admin/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `bench gateway ${vehicleId}`, vehicle_id: vehicleId }),
      });
      if (res.status !== 201) throw new Error(`api key for vehicle ${vehicleId}: ${res.status} ${await res.text()}`);
      keys.push(((await res.json()) as { key: string }).key);
    }
    const clocks = keys.map(() => ({ next: Date.now() }));
    console.log(`${keys.length} gateway keys; ${CLIENTS} clients posting ${BATCH}-reading batches for ${SECONDS} s`);

    const latencies: number[] = [];
    let refused = 0;
    let accepted = 0;
    let next = 0;
    const started = performance.now();
    const until = started + SECONDS * 1000;
    const client = async () => {
      while (performance.now() < until) {
        const v = next++ % keys.length;
        const body = batchBody(clocks[v]!);
        const t0 = performance.now();
        try {
          const res = await fetch(`${base}/api/v1/telemetry/temperatures`, {
            method: 'POST',
            headers: { 'x-api-key': keys[v]!, 'content-type': 'application/json' },
            body,
          });
          await res.arrayBuffer();
          if (res.status === 202) {
            accepted++;
            latencies.push(performance.now() - t0);
          } else refused++;
        } catch {
          refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, () => client()));
    const postedFor = (performance.now() - started) / 1000;
    let pending = await pendingTelemetryJobs(base);
    while (pending > 0) {
      await new Promise((r) => setTimeout(r, 100));
      pending = await pendingTelemetryJobs(base);
    }
    const drainedAfter = (performance.now() - started) / 1000;
    const stored = await countReadings(url);
    latencies.sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 10) / 10;
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
    const results = {
      when: new Date().toISOString(),
      machine,
      settings: { seconds: SECONDS, clients: CLIENTS, vehicles: keys.length, batch: BATCH },
      batchesAccepted: accepted,
      refused,
      readingsAccepted: accepted * BATCH,
      readingsStored: stored.readings,
      attachedToDispatch: stored.attached,
      postedForSeconds: round(postedFor),
      drainedAfterSeconds: round(drainedAfter),
      readingsStoredPerSecond: Math.round(stored.readings / drainedAfter),
      batchesPerSecond: round(accepted / postedFor),
      postMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) },
      target: { readingsStoredPerSecond: 20_000 },
    };
    console.log(`\nreefer telemetry, ${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}`);
    console.log(`  batches accepted: ${accepted} (${results.batchesPerSecond}/s over ${results.postedForSeconds} s), refused or failed: ${refused}`);
    console.log(
      `  POST /api/v1/telemetry/temperatures (500 readings): p50 ${results.postMs.p50} ms, p95 ${results.postMs.p95} ms, p99 ${results.postMs.p99} ms`,
    );
    console.log(
      `  readings stored: ${stored.readings} of ${results.readingsAccepted} accepted (${stored.attached} attached to a dispatch), queue drained ${results.drainedAfterSeconds} s after the first post`,
    );
    console.log(
      `  ${stored.readings >= 20_000 * drainedAfter ? 'met   ' : 'MISSED'} readings stored per second, end to end: ${results.readingsStoredPerSecond} (target 20,000)`,
    );
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const file = projectPath('bench-results', `bench-telemetry-${results.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2));
    console.log(`\nresults: ${file}`);
  } finally {
    await Promise.all([api.stop(), worker.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
