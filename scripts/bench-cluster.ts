/**
 * npm run bench:cluster: UVIS on a real Redis Cluster (3 masters, 3 replicas, append-only; six
 * redis-server processes started here, as the tests do) on this machine.
 *
 * 1. Points stored per second by 1 and by 3 worker processes: the locations queue is paused,
 *    filled with BENCH_POINTS points in batches of 100 through the API, and resumed; the figure
 *    is points / (time from resume until the last one is committed).
 * 2. What REDIS_WAIT_REPLICAS=1 costs per post: single GPS posts through an API with the wait off
 *    and one with it on (same cluster, same worker), at saturation and at a fixed offered rate,
 *    alternating, BENCH_ROUNDS times.
 *
 * 3. The same cost without HTTP: BENCH_ADDS sequential enqueues through the API's own JobProducer
 *    (a paused queue, so nothing else runs on it), with the wait off and on, alternating.
 *
 * Options (environment): BENCH_ADDS=2000, BENCH_POINTS=200000, BENCH_DURATION=10 (seconds per post scenario),
 * BENCH_CONNECTIONS=50, BENCH_DRIVERS=100, BENCH_RATE=200 (a rate both APIs sustain, so the latency difference is the wait itself, not queueing), BENCH_ROUNDS=3, DATABASE_URL.
 * Results also go to bench-results/cluster-*.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Queue } from 'bullmq';
import pg from 'pg';
import { queuePrefix } from '../jobs/index.js';
import { JobProducer } from '../jobs/producer.js';
import { closeQueues, createQueues } from '../jobs/queues.js';
import { ensurePostgres } from '../lib/local-services.js';
import { projectPath } from '../lib/paths.js';
import { closeRedis, createRedis, waitForRedis } from '../lib/redis.js';
import { startRedisCluster } from '../tests/helpers/redis-cluster.js';
import { BENCH_PASSWORD, createDrivers, freshDatabase, login } from './bench/fixtures.js';
import { percentile, runScenario, type ScenarioResult } from './bench/load.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp, type Child } from './bench/processes.js';

const env = process.env;
const POINTS = Number(env.BENCH_POINTS ?? 200_000);
const DURATION = Number(env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const DRIVERS = Number(env.BENCH_DRIVERS ?? 100);
const RATE = Number(env.BENCH_RATE ?? 200);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const ADDS = Number(env.BENCH_ADDS ?? 2000);
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PREFIX = 'uvisbenchc';
const ONE_POINT = JSON.stringify({ latitude: 37.5665, longitude: 126.978 });

const round3 = (x: number) => Math.round(x * 1000) / 1000;

const batchOf = (n: number) =>
  JSON.stringify({ points: Array.from({ length: 100 }, (_, i) => ({ latitude: 37.5 + i / 1e4, longitude: 127 + i / 1e4, point_id: `${n}-${i}` })) });

async function countPoints(client: pg.Client): Promise<number> {
  return (await client.query('select count(*)::int as n from vehicle_locations')).rows[0].n;
}

/** Posts `points` points in batches of 100 from all drivers, 50 at a time; every post must be accepted. */
async function fill(apiUrl: string, tokens: string[], points: number, round: number): Promise<void> {
  let next = 0;
  const batches = Math.ceil(points / 100);
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let n = next++; n < batches; n = next++) {
        const res = await fetch(`${apiUrl}/api/v1/mobile/locations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[n % tokens.length]}` },
          body: batchOf(round * 1_000_000 + n),
        });
        if (res.status !== 202) throw new Error(`fill: ${res.status} ${await res.text()}`);
      }
    }),
  );
}

async function main() {
  ensureBuilt();
  await ensurePostgres(BASE_DB);
  console.log('starting a Redis Cluster: 3 masters, 3 replicas');
  const cluster = await startRedisCluster();
  const children: Child[] = [];
  try {
    const url = await freshDatabase(BASE_DB, 'uvis_bench_cluster');
    const emails = await createDrivers(url, DRIVERS, { geofences: true });
    const common = {
      ...uvisEnv(url, 'redis://unused:6379', PREFIX),
      REDIS_CLUSTER_NODES: cluster.seeds,
      RATE_LIMITS: 'off',
    };
    const start = async (role: 'api' | 'worker', port: number, extra: Record<string, string> = {}) => {
      const child = spawnNode('dist/main.js', [role], { ...common, ...(role === 'api' ? { PORT: String(port) } : { METRICS_PORT: String(port) }), ...extra });
      children.push(child);
      await waitForHttp(`http://127.0.0.1:${port}/${role === 'api' ? 'api/v1/health' : 'health'}`, 60_000, child);
      return child;
    };
    const apiUrl = 'http://127.0.0.1:3301';
    const waitingApiUrl = 'http://127.0.0.1:3302';
    await start('api', 3301);
    await start('api', 3302, { REDIS_WAIT_REPLICAS: '1' });
    const tokens: string[] = [];
    for (let i = 0; i < emails.length; i += 10) tokens.push(...(await Promise.all(emails.slice(i, i + 10).map((e) => login(apiUrl, e, BENCH_PASSWORD)))));

    // 1. Storage throughput by worker count (one connection to read the count, polled every 100 ms).
    const target = { redisUrl: '', redisClusterNodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) };
    const connection = createRedis(target, 'worker', { commandTimeoutMs: 5000 });
    const counter = new pg.Client({ connectionString: url });
    await counter.connect();
    const locations = new Queue('locations', { connection, prefix: queuePrefix(PREFIX, 'locations') });
    const storage: { workers: number; points: number; seconds: number; pointsPerSecond: number }[] = [];
    let workerPort = 9501;
    for (const [round, workers] of [1, 3].entries()) {
      const started: Child[] = [];
      for (let w = 0; w < workers; w++) started.push(await start('worker', workerPort++, { WORKER_QUEUES: 'locations' }));
      await locations.pause();
      const before = await countPoints(counter);
      console.log(`${workers} worker(s): queueing ${POINTS} points with the queue paused`);
      await fill(apiUrl, tokens, POINTS, round);
      const t0 = Date.now();
      await locations.resume();
      while ((await countPoints(counter)) < before + POINTS) await new Promise((r) => setTimeout(r, 100));
      const seconds = (Date.now() - t0) / 1000;
      storage.push({ workers, points: POINTS, seconds: Number(seconds.toFixed(2)), pointsPerSecond: Math.round(POINTS / seconds) });
      console.log(`  stored in ${seconds.toFixed(2)} s: ${Math.round(POINTS / seconds)} points/s`);
      // Keep one worker for the post scenarios.
      for (const child of started.slice(round === 0 ? 0 : 1)) await child.stop();
    }

    // 3. Enqueue latency through JobProducer, the wait off and on; the queue paused, then emptied.
    await counter.end();
    const client = createRedis(target, 'client', { commandTimeoutMs: 5000 });
    await waitForRedis(client, 10_000);
    const queues = createQueues(client, PREFIX);
    await locations.pause();
    const adds: { wait: number; meanMs: number; p50Ms: number; p99Ms: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const replicas of [0, 1]) {
        const producer = new JobProducer(queues, client, { replicas, timeoutMs: 500 });
        const times: number[] = [];
        for (let i = 0; i < ADDS; i++) {
          const t0 = performance.now();
          await producer.add('locations', 'points', {
            driverId: 1,
            receivedAt: new Date().toISOString(),
            points: [{ lat: 37.5, lng: 127, recordedAt: new Date().toISOString() }],
          });
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        const row = {
          wait: replicas,
          meanMs: round3(times.reduce((a, b) => a + b, 0) / times.length),
          p50Ms: round3(percentile(times, 50)),
          p99Ms: round3(percentile(times, 99)),
        };
        adds.push(row);
        console.log(`  ${ADDS} enqueues, REDIS_WAIT_REPLICAS=${replicas}: mean ${row.meanMs} ms, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms`);
      }
    }
    await locations.obliterate({ force: true });
    await locations.resume();
    await closeQueues(queues);
    await closeRedis(client);
    await locations.close();
    await closeRedis(connection);

    // 2. The cost of REDIS_WAIT_REPLICAS=1 per post, alternating the two APIs.
    const posts: (ScenarioResult & { wait: number })[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [wait, target] of [
        [0, apiUrl],
        [1, waitingApiUrl],
      ] as const) {
        for (const rate of [undefined, RATE]) {
          const scenario = {
            name: `single post, REDIS_WAIT_REPLICAS=${wait}${rate ? ` at ${rate} req/s` : ''}`,
            url: target,
            method: 'POST' as const,
            path: '/api/v1/mobile/location',
            body: ONE_POINT,
            tokens,
            connections: CONNECTIONS,
            rate,
          };
          await runScenario({ ...scenario, durationSeconds: 2 });
          const result = await runScenario({ ...scenario, durationSeconds: DURATION });
          posts.push({ ...result, wait });
          console.log(
            `  ${result.scenario}: ${result.rps} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}, non-2xx ${result.non2xx}`,
          );
        }
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const of = (wait: number, fixed: boolean) => posts.filter((p) => p.wait === wait && Boolean(p.offeredRate) === fixed);
    const summary = {
      saturationRps: { off: Math.round(mean(of(0, false).map((p) => p.rps))), on: Math.round(mean(of(1, false).map((p) => p.rps))) },
      fixedRateP50Ms: { off: mean(of(0, true).map((p) => p.p50)), on: mean(of(1, true).map((p) => p.p50)) },
      fixedRateP99Ms: { off: mean(of(0, true).map((p) => p.p99)), on: mean(of(1, true).map((p) => p.p99)) },
      enqueueMeanMs: {
        off: round3(mean(adds.filter((a) => a.wait === 0).map((a) => a.meanMs))),
        on: round3(mean(adds.filter((a) => a.wait === 1).map((a) => a.meanMs))),
      },
    };
    console.log(`\nRedis Cluster (3 masters, 3 replicas) on ${cpus().length} cores, Node ${process.version}`);
    console.log('points stored per second (queue filled, then resumed):');
    for (const s of storage) console.log(`  ${s.workers} worker process(es): ${s.pointsPerSecond} points/s (${s.points} in ${s.seconds} s)`);
    console.log(`single GPS post, REDIS_WAIT_REPLICAS off -> 1 (means of ${ROUNDS} alternating rounds):`);
    console.log(`  at saturation: ${summary.saturationRps.off} -> ${summary.saturationRps.on} req/s`);
    console.log(
      `  at ${RATE} req/s: p50 ${summary.fixedRateP50Ms.off.toFixed(1)} -> ${summary.fixedRateP50Ms.on.toFixed(1)} ms, p99 ${summary.fixedRateP99Ms.off.toFixed(1)} -> ${summary.fixedRateP99Ms.on.toFixed(1)} ms`,
    );
    console.log(`  one enqueue (JobProducer, no HTTP): mean ${summary.enqueueMeanMs.off} -> ${summary.enqueueMeanMs.on} ms`);
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const file = projectPath('bench-results', `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), storage, posts, adds, summary }, null, 2));
    console.log(`results: ${file}`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await cluster.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
