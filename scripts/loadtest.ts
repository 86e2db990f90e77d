/**
 * npm run loadtest: the seed's tests/load/locustfile.py, unchanged, run by Locust
 * (Debian's python3-locust, installed here when missing and possible) against UVIS
 * started as `npm start` runs it: `node dist/main.js all` in development (demo data
 * on, so the demo account exists; development rate limits on), on a fresh database
 * with its own port and Redis prefix, so a running dev instance is left alone.
 *
 * Prints Locust's own final table (steady window; sign-in over the whole run), then
 * the API's own percentiles per endpoint over the same window, its event-loop lag and
 * resident memory (from its /metrics, scraped every few seconds), and checks that
 * every location the API accepted was stored once the queue drained. Exits 1 when
 * Locust saw any failure or a point is missing. The targets (docs/performance.md)
 * are reported, never enforced.
 *
 * Options (environment): LOADTEST_USERS=1000, LOADTEST_SPAWN_RATE=100 (users started
 * per second), LOADTEST_DURATION=60 (seconds of steady state, from LOADTEST_SETTLE_SECONDS=5 after the last sign-in),
 * LOADTEST_PORT=3211, LOADTEST_METRICS_PORT (the worker's, LOADTEST_PORT + 1), LOADTEST_SERVER=build (or `source`: main.ts through tsx, as
 * `npm start` itself does, without the minute-long tsc build; the test uses it, the
 * figures come from the build), LOADTEST_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`:
 * the children inherit them, so each process writes its profile as it exits), DATABASE_URL, REDIS_URL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import pg from 'pg';
import { dropDatabase, withAdminConnection } from '../db/ensure-database.js';
import { ensurePostgres, ensureRedis } from '../lib/local-services.js';
import { projectPath } from '../lib/paths.js';
import { answered, apiValue, currentScrape, lagAndMemory, sampleApi, scrapeApi, serverPercentiles, type MetricsSnapshot } from './bench/api-metrics.js';
import { clearRedisPrefix, freshDatabase } from './bench/fixtures.js';
import { ensureLocust, runLocust, type LocustRow } from './bench/locust.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp } from './bench/processes.js';
import { drained } from './bench/storage.js';

const env = process.env;
const USERS = Number(env.LOADTEST_USERS ?? 1000);
const SPAWN_RATE = Number(env.LOADTEST_SPAWN_RATE ?? 100);
const DURATION_S = Number(env.LOADTEST_DURATION ?? 60);
const PORT = Number(env.LOADTEST_PORT ?? 3211);
/** The worker process's /metrics port in `all` mode. */
const METRICS_PORT = Number(env.LOADTEST_METRICS_PORT ?? PORT + 1);
const FROM_SOURCE = env.LOADTEST_SERVER === 'source';
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Often enough for a max of per-interval lag to mean something, rarely enough to cost the API nothing measurable. */
const SCRAPE_INTERVAL_MS = 2500;
const LOCATION = 'POST /api/v1/mobile/location';
const SIGN_IN = 'POST /api/v1/auth/login';
const MIX = ['GET /api/v1/mobile/dispatches', 'GET /api/v1/mobile/summary', LOCATION];

async function storedPoints(url: string, since: Date): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('select count(*)::int as n from vehicle_locations where received_at >= $1', [since]);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

function printTable(title: string, header: string[], rows: (string | number | null)[][]): void {
  console.log(`\n${title}`);
  const cell = (v: string | number | null, i: number) => (i === 0 ? String(v ?? '-').padEnd(34) : String(v ?? '-').padStart(9));
  for (const row of [header, ...rows]) console.log(row.map(cell).join(' '));
}

async function main() {
  const locust = ensureLocust();
  if (!FROM_SOURCE) ensureBuilt();
  await ensurePostgres(BASE_DB);
  await ensureRedis(REDIS);
  const database = `uvis_loadtest_${PORT}`;
  const url = await freshDatabase(BASE_DB, database);
  const prefix = `uvisload${PORT}`;
  await clearRedisPrefix(REDIS, prefix);
  const base = `http://127.0.0.1:${PORT}`;
  // As `npm start`: development with demo data and schedules; its own ports (the workers' metrics port too).
  const uvis = spawnNode(
    FROM_SOURCE ? 'main.ts' : 'dist/main.js',
    ['all'],
    {
      ...uvisEnv(url, REDIS, prefix),
      DEMO_DATA: 'true',
      SCHEDULES: 'on',
      PORT: String(PORT),
      METRICS_PORT: String(METRICS_PORT),
    },
    env.LOADTEST_NODE_OPTIONS?.split(' ').filter(Boolean),
  );
  let peakTreeRss = 0;
  const treeSampler = setInterval(() => (peakTreeRss = Math.max(peakTreeRss, uvis.treeRssMb())), 1000);
  try {
    await waitForHttp(`${base}/api/v1/health`, 90_000, uvis);
    const started = new Date();
    const sampler = sampleApi(base, SCRAPE_INTERVAL_MS);
    let windowStart: Promise<MetricsSnapshot | undefined> = Promise.resolve(undefined);
    console.log(`Locust: ${USERS} users (${SPAWN_RATE}/s), then ${DURATION_S} s of steady state after the last sign-in, against ${base}`);
    const run = await runLocust({
      command: locust,
      host: base,
      users: USERS,
      spawnRate: SPAWN_RATE,
      steadySeconds: DURATION_S,
      // The window starts with a snapshot that has every sign-in in it (see currentScrape).
      onSteady: (signedIn) => {
        windowStart = currentScrape(base, (s) => answered(s, SIGN_IN) >= signedIn).then((s) => (sampler.snapshots.push(s), s));
        // Awaited after Locust ends; if the server died meanwhile, that await reports it, not an unhandled rejection.
        windowStart.catch(() => {});
      },
    });
    sampler.stop();
    // Locust has stopped: the window ends with the first snapshot that two scrapes in a row agree on.
    const windowEnd = await currentScrape(base, (s, previous) => !!previous && MIX.every((e) => answered(s, e) === answered(previous, e)));
    const before = await windowStart;
    await drained(base);
    const afterDrain = await scrapeApi(base);
    const stored = await storedPoints(url, started);

    const failures = Object.values(run.wholeRun).reduce((n, c) => n + c.failures, 0);
    const location = run.wholeRun[LOCATION] ?? { requests: 0, failures: 0 };
    const accepted = location.requests - location.failures;
    const apiAccepted = apiValue(afterDrain, 'uvis_locations_accepted_total');
    // The route label `unmatched` holds this script's own /metrics scrapes.
    const server = before ? serverPercentiles(before, windowEnd).filter((r) => r.endpoint !== 'GET unmatched') : [];
    const resources = {
      ...lagAndMemory(sampler.snapshots, before?.at ?? Infinity, windowEnd.at),
      uvisPeakTreeRssMb: Math.round(peakTreeRss),
      window: { from: before?.at, to: windowEnd.at },
    };
    const mix = run.steady.filter((r) => r.endpoint !== SIGN_IN && r.endpoint !== 'Aggregated');
    const results = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
      settings: {
        users: USERS,
        spawnRate: SPAWN_RATE,
        steadySeconds: DURATION_S,
        server: FROM_SOURCE ? 'main.ts (tsx)' : 'dist/main.js',
        locustfile: 'tests/load/locustfile.py',
      },
      locust: { exitCode: run.exitCode, steady: run.steady, wholeRun: run.wholeRun, userExceptions: run.userExceptions, window: run.window },
      server,
      resources,
      locations: { accepted, apiAccepted, stored, allStored: stored === accepted && stored === apiAccepted },
      targets: {
        noFailures: failures === 0 && run.userExceptions === 0,
        p99Under100MsExceptSignIn: mix.length > 0 && mix.every((r: LocustRow) => r.p99Ms < 100),
        lagP99Under20Ms: resources.lagP99MaxMs < 20,
        apiRssUnder250Mb: resources.apiPeakRssMb < 250,
      },
    };

    printTable(
      'The API’s own percentiles over the steady window (http_request_duration_seconds, interpolated within buckets)',
      ['endpoint', 'requests', 'p50 ms', 'p95 ms', 'p99 ms'],
      server.map((r) => [r.endpoint, r.requests, r.p50Ms, r.p95Ms, r.p99Ms]),
    );
    console.log(
      `\nAPI event-loop lag over ${resources.intervals} intervals of ${SCRAPE_INTERVAL_MS / 1000} s: p99 max ${resources.lagP99MaxMs} ms, p99 median ${resources.lagP99MedianMs} ms, p50 median ${resources.lagP50MedianMs} ms`,
    );
    console.log(`API peak resident memory: ${resources.apiPeakRssMb} MB; all UVIS processes together: ${resources.uvisPeakTreeRssMb} MB`);
    console.log(
      `locations: ${accepted} accepted per Locust (${apiAccepted} per the API's counter), ${stored} stored${results.locations.allStored ? ' (all)' : ' (MISMATCH)'}`,
    );
    console.log(`failures over the whole run: ${failures} requests, ${run.userExceptions} user exceptions`);
    console.log('targets (measured, not enforced):', JSON.stringify(results.targets));
    if (sampler.failedScrapes()) console.log(`(${sampler.failedScrapes()} /metrics scrapes failed)`);
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const file = projectPath('bench-results', `loadtest-${results.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2));
    console.log(`results: ${file}`);
    if (!results.locations.allStored || !results.targets.noFailures || run.exitCode !== 0) process.exitCode = 1;
  } finally {
    clearInterval(treeSampler);
    await uvis.stop();
    await clearRedisPrefix(REDIS, prefix);
    // Named after the port, which the test picks at random: not dropped, they would pile up.
    await withAdminConnection(BASE_DB, (client) => dropDatabase(client, database));
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
