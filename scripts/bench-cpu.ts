/**
 * npm run bench:cpu: CPU time the API process spends per request on the hot routes, against bare
 * Express's CPU per request in the same run (its utime + stime from /proc around each run,
 * divided by the requests served). Requests per second on a shared two-core machine move by a
 * third from run to run, and the baseline with them. CPU per request moves too (the host's other
 * tenants slow every cycle), but less: compare two versions by running this on each,
 * alternately, a few times, and comparing the best figures. Only the API runs (no worker): GPS
 * jobs wait in Redis and are deleted afterwards.
 *
 * Options (environment): BENCH_CPU_SECONDS=5 per run (best of three), BENCH_CONNECTIONS=50,
 * DATABASE_URL / REDIS_URL (servers to use).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { projectPath } from '../lib/paths.js';
import { startBenchApi } from './bench/api.js';
import { clearRedisPrefix } from './bench/fixtures.js';
import { HOT_ROUTES } from './bench/hot-routes.js';
import { runScenario, type Scenario } from './bench/load.js';
import { spawnNode, waitForHttp } from './bench/processes.js';

const env = process.env;
const SECONDS = Number(env.BENCH_CPU_SECONDS ?? 5);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchcpu';
const PORTS = { api: 3203, baseline: 3205 };
/** The bound: a GPS post at most 1.6 times bare Express's CPU per request. */
const TARGET_RATIO = 1.6;
const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User plus system CPU of a process so far, in microseconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
}

/** Best of three runs (after a warm-up) of CPU microseconds per request of process `pid`. */
async function cpuPerRequest(pid: number, scenario: Omit<Scenario, 'durationSeconds'>): Promise<{ best: number; runs: number[] }> {
  await runScenario({ ...scenario, durationSeconds: 2 }); // warm-up: JIT, pools, caches
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const before = cpuMicros(pid);
    const result = await runScenario({ ...scenario, durationSeconds: SECONDS });
    if (result.errors + result.non2xx > 0) throw new Error(`${scenario.name}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
    runs.push(Math.round((cpuMicros(pid) - before) / result.requests));
  }
  console.log(`  ${scenario.name}: ${Math.min(...runs)} µs (runs ${runs.join(', ')})`);
  return { best: Math.min(...runs), runs };
}

async function main() {
  const rows: { route: string; cpuMicrosPerRequest: number; runs: number[] }[] = [];
  const baseline = spawnNode('scripts/bench/baseline-server.ts', [String(PORTS.baseline)], {});
  try {
    const url = `http://127.0.0.1:${PORTS.baseline}`;
    await waitForHttp(`${url}/list`, 60_000, baseline);
    const pid = baseline.process.pid!;
    const post = await cpuPerRequest(pid, {
      name: 'bare Express JSON POST',
      url,
      method: 'POST',
      path: '/ingest',
      body: HOT_ROUTES[0]!.body,
      connections: CONNECTIONS,
    });
    const get = await cpuPerRequest(pid, { name: 'bare Express GET', url, method: 'GET', path: '/list', connections: CONNECTIONS });
    rows.push(
      { route: 'bare Express JSON POST', cpuMicrosPerRequest: post.best, runs: post.runs },
      { route: 'bare Express GET', cpuMicrosPerRequest: get.best, runs: get.runs },
    );
  } finally {
    await baseline.stop();
  }

  const { api, base, tokens } = await startBenchApi({
    baseDb: BASE_DB,
    redis: REDIS,
    database: 'uvis_bench_cpu',
    prefix: PREFIX,
    port: PORTS.api,
    drivers: 50,
  });
  try {
    for (const route of HOT_ROUTES) {
      const { best, runs } = await cpuPerRequest(api.process.pid!, {
        name: route.name,
        url: base,
        method: route.method,
        path: route.path,
        body: route.body,
        tokens,
        connections: CONNECTIONS,
      });
      rows.push({ route: route.name, cpuMicrosPerRequest: best, runs });
    }
  } finally {
    await api.stop();
    await clearRedisPrefix(REDIS, PREFIX);
  }

  const bare = rows[0]!.cpuMicrosPerRequest;
  const post = rows.find((r) => r.route === HOT_ROUTES[0]!.name)!.cpuMicrosPerRequest;
  console.log('\nCPU per request of the serving process (best of three; lower is better):');
  for (const row of rows)
    console.log(`  ${row.route.padEnd(26)} ${String(row.cpuMicrosPerRequest).padStart(5)} µs  ${(row.cpuMicrosPerRequest / bare).toFixed(2)} × bare POST`);
  const ratio = post / bare;
  console.log(`\nGPS post / bare Express POST: ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'met' : 'missed'})`);
  mkdirSync(projectPath('bench-results'), { recursive: true });
  const when = new Date().toISOString();
  const file = projectPath('bench-results', `cpu-${when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        when,
        node: process.version,
        settings: { seconds: SECONDS, connections: CONNECTIONS },
        rows,
        ratio: { measured: Number(ratio.toFixed(2)), target: TARGET_RATIO },
      },
      null,
      2,
    ),
  );
  console.log(`results: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
