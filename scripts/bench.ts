/**
 * npm run bench:api (the first part of npm run bench, before bench:telemetry and
 * bench:report): UVIS (one API process, one worker process) against a bare Express
 * baseline, on this machine, driven by the same load generator in the same run.
 * Prints a table (scenario, requests/s, p50, p99, errors, ratio to the baseline),
 * latency at a fixed offered rate, and end-to-end storage (points stored per second
 * and the lag from acceptance to commit); writes everything to bench-results/*.json.
 *
 * Options (environment): BENCH_DURATION=10 (seconds per scenario), BENCH_CONNECTIONS=100,
 * BENCH_DRIVERS=200, BENCH_RATE=3000, BENCH_RATE_LIMITS=off (on: limits enforced,
 * with numbers high enough not to refuse), BENCH_GEOFENCES=on (off: the drivers' orders have no
 * coordinates, so no batch evaluates a geofence), DATABASE_URL / REDIS_URL (servers to use).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { ensurePostgres, ensureRedis } from '../lib/local-services.js';
import { projectPath } from '../lib/paths.js';
import { clearRedisPrefix, createDrivers, freshDatabase, login, BENCH_PASSWORD } from './bench/fixtures.js';
import { runScenario, type ScenarioResult } from './bench/load.js';
import { drained, storageFigures } from './bench/storage.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp } from './bench/processes.js';

const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 100);
const DRIVERS = Number(env.BENCH_DRIVERS ?? 200);
const RATE = Number(env.BENCH_RATE ?? 3000);
const RATE_LIMITS = env.BENCH_RATE_LIMITS === 'on' ? 'on' : 'off';
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbench';
const PORTS = { api: 3201, worker: 9466, baseline: 3202 };

const ONE_POINT = JSON.stringify({ latitude: 37.5665, longitude: 126.978 });
const BATCH = JSON.stringify({
  points: Array.from({ length: 100 }, (_, i) => ({ latitude: 37.5 + i / 1e4, longitude: 127 + i / 1e4, speed: 40 + (i % 20) })),
});

function table(rows: (ScenarioResult & { ratio?: number })[]): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'vs baseline'];
  const lines = rows.map((r) => [
    r.scenario,
    String(r.rps),
    String(r.p50),
    String(r.p99),
    String(r.errors),
    String(r.non2xx),
    r.ratio === undefined ? '' : r.ratio.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

async function main() {
  ensureBuilt();
  await ensurePostgres(BASE_DB);
  await ensureRedis(REDIS);
  console.log(`preparing: fresh database, ${DRIVERS} drivers`);
  const url = await freshDatabase(BASE_DB, 'uvis_bench');
  const emails = await createDrivers(url, DRIVERS);
  await clearRedisPrefix(REDIS, PREFIX);

  const common = {
    ...uvisEnv(url, REDIS, PREFIX),
    RATE_LIMITS,
    RATE_LIMIT_GENERAL: '10000000',
    RATE_LIMIT_LOCATION: '10000000',
  };
  const baseline = spawnNode('scripts/bench/baseline-server.ts', [String(PORTS.baseline)], {});
  const api = spawnNode('dist/main.js', ['api'], { ...common, PORT: String(PORTS.api) });
  const worker = spawnNode('dist/main.js', ['worker'], { ...common, METRICS_PORT: String(PORTS.worker), WORKER_QUEUES: 'orders,dispatches,locations' });
  const children = [baseline, api, worker];
  let peakApiRss = 0;
  const sampler = setInterval(() => (peakApiRss = Math.max(peakApiRss, api.rssMb())), 250);
  try {
    const apiUrl = `http://127.0.0.1:${PORTS.api}`;
    const baseUrl = `http://127.0.0.1:${PORTS.baseline}`;
    await Promise.all([
      waitForHttp(`${baseUrl}/list`, 60_000, baseline),
      waitForHttp(`${apiUrl}/api/v1/health`, 60_000, api),
      waitForHttp(`http://127.0.0.1:${PORTS.worker}/health`, 60_000, worker),
    ]);
    const tokens: string[] = [];
    for (let i = 0; i < emails.length; i += 10) tokens.push(...(await Promise.all(emails.slice(i, i + 10).map((e) => login(apiUrl, e, BENCH_PASSWORD)))));
    console.log(`signed in ${tokens.length} drivers; ${DURATION} s per scenario, ${CONNECTIONS} connections`);

    const run = async (name: string, target: string, method: 'GET' | 'POST', path: string, body?: string, rate?: number) => {
      const scenario = { name, url: target, method, path, body, tokens: target === apiUrl ? tokens : undefined, connections: CONNECTIONS };
      // A short warm-up (at the scenario's own pace) so the JIT and the pools are ready; not measured.
      await runScenario({ ...scenario, durationSeconds: 2, rate });
      if (target === apiUrl) await drained(apiUrl);
      const result = await runScenario({ ...scenario, durationSeconds: DURATION, rate });
      console.log(`  ${name}: ${result.rps} req/s, p99 ${result.p99} ms, errors ${result.errors}, non-2xx ${result.non2xx}`);
      if (target === apiUrl) await drained(apiUrl);
      return result;
    };

    const baselinePost = await run('baseline: bare Express JSON POST', baseUrl, 'POST', '/ingest', ONE_POINT);
    const baselineGet = await run('baseline: bare Express GET', baseUrl, 'GET', '/list');
    const single = await run('location post (1 point)', apiUrl, 'POST', '/api/v1/mobile/location', ONE_POINT);
    const batchStart = new Date();
    const batch = await run('location batch (100 points)', apiUrl, 'POST', '/api/v1/mobile/locations', BATCH);
    const saturated = await storageFigures(url, batchStart);
    // The lag target is about a sustained load, not a backlog built on purpose: 10,000 points/s offered.
    const steadyStart = new Date();
    const steadyBatch = await run('location batch at 100 req/s (10,000 points/s)', apiUrl, 'POST', '/api/v1/mobile/locations', BATCH, 100);
    const steady = await storageFigures(url, steadyStart);
    const list = await run('driver dispatch list', apiUrl, 'GET', '/api/v1/mobile/dispatches');
    const summary = await run('driver summary (cached)', apiUrl, 'GET', '/api/v1/mobile/summary');
    const fixedBaseline = await run(`baseline at ${RATE} req/s`, baseUrl, 'POST', '/ingest', ONE_POINT, RATE);
    const fixedSingle = await run(`location post at ${RATE} req/s`, apiUrl, 'POST', '/api/v1/mobile/location', ONE_POINT, RATE);
    const fixedSustainable = await run('location post at 1,000 req/s', apiUrl, 'POST', '/api/v1/mobile/location', ONE_POINT, 1000);

    const saturation = [
      baselinePost,
      baselineGet,
      { ...single, ratio: single.rps / baselinePost.rps },
      { ...batch, ratio: batch.rps / baselinePost.rps },
      { ...list, ratio: list.rps / baselineGet.rps },
      { ...summary, ratio: summary.rps / baselineGet.rps },
    ];
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
    const results = {
      when: new Date().toISOString(),
      machine,
      settings: { durationSeconds: DURATION, connections: CONNECTIONS, drivers: DRIVERS, rateLimits: RATE_LIMITS, offeredRate: RATE },
      saturation,
      fixedRate: [fixedBaseline, fixedSingle, fixedSustainable, steadyBatch],
      endToEnd: { saturated: { ...saturated, batchRequestsPerSecond: batch.rps }, steady: { ...steady, offeredPointsPerSecond: 10_000 } },
      apiPeakRssMb: Math.round(peakApiRss),
      targets: {
        singlePostRatio: {
          target: 0.6,
          measured: Number((single.rps / baselinePost.rps).toFixed(2)),
          met: single.rps / baselinePost.rps >= 0.6 && single.errors + single.non2xx === 0,
        },
        p99AtFixedRateMs: { target: 50, measured: fixedSingle.p99, met: fixedSingle.p99 < 50 && fixedSingle.errors + fixedSingle.non2xx === 0 },
        pointsPerSecond: { target: 10_000, measured: saturated.pointsPerSecond, met: saturated.pointsPerSecond >= 10_000 },
        lagP99MsAt10kPointsPerSecond: { target: 1000, measured: steady.lagP99Ms, met: steady.lagP99Ms < 1000 && steady.pointsPerSecond >= 9_000 },
      },
    };
    console.log(`\nUVIS vs bare Express, ${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}, rate limits ${RATE_LIMITS}\n`);
    console.log(table(saturation));
    console.log(`\nfixed offered rate:`);
    console.log(table([fixedBaseline, fixedSingle, fixedSustainable, steadyBatch]));
    console.log(
      `\nend to end, batch posts at saturation: ${saturated.points} points stored, ${saturated.pointsPerSecond} points/s (lag p99 ${saturated.lagP99Ms} ms: a backlog by design)`,
    );
    console.log(
      `end to end, 10,000 points/s offered: ${steady.points} points stored, ${steady.pointsPerSecond} points/s; lag acceptance -> commit p50 ${steady.lagP50Ms} ms, p99 ${steady.lagP99Ms} ms, max ${steady.lagMaxMs} ms`,
    );
    console.log(`API peak resident memory: ${results.apiPeakRssMb} MB`);
    console.log('\ntargets:');
    for (const [name, t] of Object.entries(results.targets)) console.log(`  ${t.met ? 'met   ' : 'MISSED'} ${name}: ${t.measured} (target ${t.target})`);
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const file = projectPath('bench-results', `bench-${results.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2));
    console.log(`\nresults: ${file}`);
  } finally {
    clearInterval(sampler);
    await Promise.all(children.map((c) => c.stop()));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
