/**
 * npm run loadtest: the seed's Locust mix (tests/load/locustfile.py) in Node, so it
 * runs here without Python packages. Each virtual user signs in as the demo account
 * (as the seed's file does), then loops: dispatch list (weight 3), summary (2),
 * location post (1), waiting 1 to 3 s between tasks. Starts its own UVIS (one API
 * process, one worker process, development rate limits ON) on a fresh database,
 * reports average, p95, p99 and errors per endpoint (sign-in apart: password hashing
 * is slow on purpose), the API's peak resident memory, and checks afterwards that
 * every accepted location was stored.
 *
 * Options (environment): LOADTEST_USERS=1000, LOADTEST_DURATION=60 (seconds after the
 * ramp-up), LOADTEST_SPAWN_RATE=100 (users started per second), DATABASE_URL, REDIS_URL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import pg from 'pg';
import { ensurePostgres, ensureRedis } from '../lib/local-services.js';
import { projectPath } from '../lib/paths.js';
import { freshDatabase } from './bench/fixtures.js';
import { percentile } from './bench/load.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp } from './bench/processes.js';

const env = process.env;
const USERS = Number(env.LOADTEST_USERS ?? 1000);
const DURATION_S = Number(env.LOADTEST_DURATION ?? 60);
const SPAWN_RATE = Number(env.LOADTEST_SPAWN_RATE ?? 100);
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PORTS = { api: 3211, worker: 9467 };

interface Stat {
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
}

const stats = new Map<string, Stat>();
let acceptedPoints = 0;
/**
 * Latencies of the task mix count from the end of the ramp-up (as Locust's
 * --reset-stats does): a thousand password hashes in ten seconds would otherwise be
 * what the percentiles measure. Sign-ins are measured throughout and reported apart;
 * errors count throughout.
 */
let steady = false;

async function call(name: string, url: string, init: RequestInit): Promise<{ status: number; text: string } | undefined> {
  const stat = stats.get(name) ?? { latencies: [], errors: 0, statuses: {} };
  stats.set(name, stat);
  const started = performance.now();
  // Decided when the request starts: one started in the ramp-up is not part of the steady mix.
  const measured = steady || name.includes('/auth/login');
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (measured) stat.latencies.push(performance.now() - started);
    stat.statuses[res.status] = (stat.statuses[res.status] ?? 0) + 1;
    if (res.status >= 400) stat.errors++;
    return { status: res.status, text };
  } catch {
    stat.errors++;
    stat.statuses.network = (stat.statuses.network ?? 0) + 1;
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function virtualUser(api: string, until: number): Promise<void> {
  const login = await call('POST /api/v1/auth/login', `${api}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'test@example.com', password: 'testpass' }),
  });
  if (login?.status !== 200) return;
  const token = (JSON.parse(login.text) as { access_token: string }).access_token;
  const headers = { authorization: `Bearer ${token}` };
  // The seed's task weights: dispatches 3, summary 2, location 1.
  const tasks = [
    () => call('GET /api/v1/mobile/dispatches', `${api}/api/v1/mobile/dispatches`, { headers }),
    () => call('GET /api/v1/mobile/dispatches', `${api}/api/v1/mobile/dispatches`, { headers }),
    () => call('GET /api/v1/mobile/dispatches', `${api}/api/v1/mobile/dispatches`, { headers }),
    () => call('GET /api/v1/mobile/summary', `${api}/api/v1/mobile/summary`, { headers }),
    () => call('GET /api/v1/mobile/summary', `${api}/api/v1/mobile/summary`, { headers }),
    async () => {
      const res = await call('POST /api/v1/mobile/location', `${api}/api/v1/mobile/location`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ latitude: 37.5665, longitude: 126.978 }),
      });
      if (res?.status === 202) acceptedPoints++;
      return res;
    },
  ];
  while (Date.now() < until) {
    await tasks[Math.floor(Math.random() * tasks.length)]!();
    await sleep(1000 + Math.random() * 2000);
  }
}

/** Cumulative request-duration buckets per route template, from the API's /metrics. */
async function durationBuckets(api: string): Promise<Map<string, Map<number, number>>> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const byRoute = new Map<string, Map<number, number>>();
  for (const [, labels, value] of text.matchAll(/^http_request_duration_seconds_bucket\{([^}]*)\} (\S+)/gm)) {
    const route = /route="([^"]*)"/.exec(labels!)![1]!;
    const method = /method="([^"]*)"/.exec(labels!)![1]!;
    const le = /le="([^"]*)"/.exec(labels!)![1]!;
    const key = `${method} ${route}`;
    const buckets = byRoute.get(key) ?? new Map<number, number>();
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(value));
    byRoute.set(key, buckets);
  }
  return byRoute;
}

/** The server's own p-th percentile (ms) over a window, interpolated within Prometheus buckets as histogram_quantile does. */
function serverPercentile(before: Map<number, number> | undefined, after: Map<number, number> | undefined, p: number): number | null {
  if (!after) return null;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => after.get(b)! - (before?.get(b) ?? 0));
  const total = counts[counts.length - 1]!;
  if (!total) return null;
  const rank = (p / 100) * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]! === Infinity ? lower : bounds[i]!;
      const below = i === 0 ? 0 : counts[i - 1]!;
      return Math.round((lower + ((upper - lower) * (rank - below)) / Math.max(counts[i]! - below, 1)) * 10000) / 10;
    }
  }
  return null;
}

async function storedPoints(url: string, since: Date): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query('select count(*)::int as n from vehicle_locations where driver_id = 1 and received_at >= $1', [since]);
  await client.end();
  return rows[0].n;
}

async function waitForDrain(api: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const text = await (await fetch(`${api}/metrics`)).text();
    const pending = [...text.matchAll(/^uvis_queue_jobs\{queue="locations",state="(waiting|active|delayed|prioritized)"[^}]*\} (\d+)/gm)].reduce(
      (n, m) => n + Number(m[2]),
      0,
    );
    if (pending === 0) return;
    await sleep(500);
  }
}

async function main() {
  ensureBuilt();
  await ensurePostgres(BASE_DB);
  await ensureRedis(REDIS);
  const url = await freshDatabase(BASE_DB, 'uvis_loadtest');
  const common = uvisEnv(url, REDIS, `uvisload${Date.now()}`);
  const api = spawnNode('dist/main.js', ['api'], { ...common, PORT: String(PORTS.api) });
  const worker = spawnNode('dist/main.js', ['worker'], { ...common, METRICS_PORT: String(PORTS.worker), WORKER_QUEUES: 'orders,dispatches,locations' });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, api.rssMb())), 250);
  try {
    const apiUrl = `http://127.0.0.1:${PORTS.api}`;
    await waitForHttp(`${apiUrl}/api/v1/health`, 60_000, api);
    await waitForHttp(`http://127.0.0.1:${PORTS.worker}/health`, 60_000, worker);
    const started = new Date();
    const until = Date.now() + (USERS / SPAWN_RATE) * 1000 + DURATION_S * 1000;
    console.log(`${USERS} users (${SPAWN_RATE}/s), then ${DURATION_S} s of the seed's mix against ${apiUrl}`);
    const users: Promise<void>[] = [];
    for (let i = 0; i < USERS; i++) {
      users.push(virtualUser(apiUrl, until));
      if ((i + 1) % SPAWN_RATE === 0) await sleep(1000);
    }
    // Let the last users finish signing in before measuring the steady mix.
    await sleep(3000);
    steady = true;
    const serverBefore = await durationBuckets(apiUrl);
    await Promise.all(users);
    const serverAfter = await durationBuckets(apiUrl);
    await waitForDrain(apiUrl);
    const stored = await storedPoints(url, started);

    const rows = [...stats.entries()].map(([name, s]) => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      const total = Object.values(s.statuses).reduce((a, b) => a + b, 0);
      return {
        endpoint: name,
        requests: total,
        averageMs: Math.round(sorted.reduce((a, b) => a + b, 0) / Math.max(sorted.length, 1)),
        p95Ms: Math.round(percentile(sorted, 95)),
        p99Ms: Math.round(percentile(sorted, 99)),
        errors: s.errors,
        errorRate: total ? s.errors / total : 0,
        statuses: s.statuses,
        // As the API measured itself (request in to response out), in the steady window.
        serverP95Ms: serverPercentile(serverBefore.get(name), serverAfter.get(name), 95),
        serverP99Ms: serverPercentile(serverBefore.get(name), serverAfter.get(name), 99),
      };
    });
    const nonLogin = rows.filter((r) => !r.endpoint.includes('/auth/login'));
    const allRequests = nonLogin.reduce((n, r) => n + r.requests, 0);
    const allErrors = nonLogin.reduce((n, r) => n + r.errors, 0);
    const results = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
      settings: { users: USERS, durationSeconds: DURATION_S, spawnRate: SPAWN_RATE },
      endpoints: rows,
      totals: {
        requests: allRequests,
        errors: allErrors,
        errorRate: allRequests ? allErrors / allRequests : 0,
        requestsPerSecond: Math.round(allRequests / ((Date.now() - started.getTime()) / 1000)),
      },
      locations: { accepted: acceptedPoints, stored, allStored: stored === acceptedPoints },
      apiPeakRssMb: Math.round(peakRss),
      targets: {
        p99Under100MsExceptLogin: nonLogin.every((r) => r.p99Ms < 100),
        noErrors: allErrors === 0,
        everyAcceptedPointStored: stored === acceptedPoints,
        apiRssUnder300Mb: peakRss < 300,
      },
    };
    console.log('\n                                           client (round trip)         server (in the API)');
    console.log('endpoint                          requests   avg ms   p95 ms   p99 ms   p95 ms   p99 ms   errors');
    for (const r of rows) {
      const server = (v: number | null) => (v === null ? '-' : String(v)).padStart(8);
      console.log(
        `${r.endpoint.padEnd(32)} ${String(r.requests).padStart(9)} ${String(r.averageMs).padStart(8)} ${String(r.p95Ms).padStart(8)} ${String(r.p99Ms).padStart(8)} ${server(r.serverP95Ms)} ${server(r.serverP99Ms)} ${String(r.errors).padStart(8)}`,
      );
    }
    console.log(
      `\nall but sign-in: ${allRequests} requests, ${results.totals.requestsPerSecond} req/s overall, error rate ${(results.totals.errorRate * 100).toFixed(3)} %`,
    );
    console.log(`locations: ${acceptedPoints} accepted (202), ${stored} stored${stored === acceptedPoints ? ' (all)' : ' (MISSING SOME)'}`);
    console.log(`API peak resident memory: ${results.apiPeakRssMb} MB`);
    console.log('targets:', JSON.stringify(results.targets));
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const file = projectPath('bench-results', `loadtest-${results.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2));
    console.log(`results: ${file}`);
    if (!results.targets.everyAcceptedPointStored || !results.targets.noErrors) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    await Promise.all([api.stop(), worker.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
