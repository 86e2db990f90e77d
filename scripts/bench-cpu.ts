/**
 * npm run bench:cpu: CPU time the API process spends per request on the hot routes
 * (its utime + stime from /proc around each run, divided by the requests served).
 * Requests per second on a shared two-core machine move by a third from run to run,
 * and the baseline with them. CPU per request moves too (the host's other tenants
 * slow every cycle), but less: compare two versions by running this on each,
 * alternately, a few times, and comparing the best figures. Only the API runs (no worker): GPS jobs wait in
 * Redis and are deleted afterwards.
 *
 * Options (environment): BENCH_CPU_SECONDS=5 per run (best of three), BENCH_CONNECTIONS=50,
 * DATABASE_URL / REDIS_URL (servers to use).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { projectPath } from '../lib/paths.js';
import { startBenchApi } from './bench/api.js';
import { clearRedisPrefix } from './bench/fixtures.js';
import { runScenario } from './bench/load.js';

const env = process.env;
const SECONDS = Number(env.BENCH_CPU_SECONDS ?? 5);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchcpu';
const PORT = 3203;
const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const ROUTES = [
  { name: 'GPS post (1 point)', method: 'POST', path: '/api/v1/mobile/location', body: JSON.stringify({ latitude: 37.5665, longitude: 126.978 }) },
  { name: 'driver dispatch list', method: 'GET', path: '/api/v1/mobile/dispatches' },
  { name: 'driver summary (cached)', method: 'GET', path: '/api/v1/mobile/summary' },
  { name: 'health', method: 'GET', path: '/api/v1/health' },
] as const;

/** User plus system CPU of a process so far, in microseconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
}

async function main() {
  const { api, base, tokens } = await startBenchApi({ baseDb: BASE_DB, redis: REDIS, database: 'uvis_bench_cpu', prefix: PREFIX, port: PORT, drivers: 50 });
  try {
    const pid = api.process.pid!;
    const rows = [];
    for (const route of ROUTES) {
      const scenario = {
        name: route.name,
        url: base,
        method: route.method,
        path: route.path,
        body: 'body' in route ? route.body : undefined,
        tokens,
        connections: CONNECTIONS,
      };
      await runScenario({ ...scenario, durationSeconds: 2 }); // warm-up: JIT, pools, caches
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = cpuMicros(pid);
        const result = await runScenario({ ...scenario, durationSeconds: SECONDS });
        if (result.errors + result.non2xx > 0) throw new Error(`${route.name}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
        runs.push((cpuMicros(pid) - before) / result.requests);
      }
      rows.push({ route: route.name, cpuMicrosPerRequest: Math.round(Math.min(...runs)), runs: runs.map(Math.round) });
      console.log(`  ${route.name}: ${Math.round(Math.min(...runs))} µs (runs ${runs.map(Math.round).join(', ')})`);
    }
    console.log('\nAPI CPU per request (best of three; lower is better):');
    for (const row of rows) console.log(`  ${row.route.padEnd(26)} ${String(row.cpuMicrosPerRequest).padStart(5)} µs`);
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const when = new Date().toISOString();
    const file = projectPath('bench-results', `cpu-${when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ when, settings: { seconds: SECONDS, connections: CONNECTIONS }, rows }, null, 2));
    console.log(`\nresults: ${file}`);
  } finally {
    await api.stop();
    await clearRedisPrefix(REDIS, PREFIX);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
