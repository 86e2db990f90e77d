/**
 * npm run bench:proofs: proof-of-delivery photo uploads (issue 17). 20 concurrent 4 MB photos
 * against the compiled API: uploads per second and MB/s, latency p50/p95/p99/max, the API's peak
 * resident memory (target: under 400 MB), and whether image work stalls the API's event loop
 * (its own `nodejs_eventloop_lag_p99_seconds`, and the latency of GET /health probes sent every
 * 50 ms during the uploads).
 *
 * Runs the API alone (`dist/main.js api`, rate limits off, local proof storage in a temporary
 * UPLOADS_DIR) on a fresh database with enough drivers for every upload (a dispatch holds at most
 * 10 proofs), generates one ~4 MB JPEG (4032 × 3024, noise, as a phone's), and uploads it
 * BENCH_PROOF_UPLOADS times with BENCH_PROOF_CONCURRENCY in flight. Everything, the load
 * generator included, shares the machine's cores.
 *
 * Options (environment): BENCH_PROOF_UPLOADS=200, BENCH_PROOF_CONCURRENCY=20, DATABASE_URL /
 * REDIS_URL (servers to use), BENCH_API_NODE_OPTIONS (NODE_OPTIONS for the API only, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`), UV_THREADPOOL_SIZE (passed on: sharp's work runs there).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { ensurePostgres, ensureRedis } from '../lib/local-services.js';
import { projectPath } from '../lib/paths.js';
import { BENCH_PASSWORD, clearRedisPrefix, createDrivers, freshDatabase, login } from './bench/fixtures.js';
import { percentile } from './bench/load.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp } from './bench/processes.js';

const env = process.env;
const UPLOADS = Number(env.BENCH_PROOF_UPLOADS ?? 200);
const CONCURRENCY = Number(env.BENCH_PROOF_CONCURRENCY ?? 20);
const PER_DISPATCH = 10;
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchproofs';
const PORT = 3207;
const RSS_TARGET_MB = 400;

/** A phone-like 4 MB JPEG: 12 MP of noise, its strength chosen so the file lands near 4 MB. */
async function photo(): Promise<Buffer> {
  let best: Buffer | undefined;
  for (const sigma of [12, 11, 13, 10, 14]) {
    const jpeg = await sharp({ create: { width: 4032, height: 3024, channels: 3, background: '#7a8ca0', noise: { type: 'gaussian', mean: 128, sigma } } })
      .jpeg({ quality: 90 })
      .toBuffer();
    if (!best || Math.abs(jpeg.length - 4e6) < Math.abs(best.length - 4e6)) best = jpeg;
    if (Math.abs(jpeg.length - 4e6) < 2e5) break;
  }
  return best!;
}

/** The API's own event-loop lag p99 since the previous scrape (prom-client resets its histogram on each). */
async function eventLoopLagP99Ms(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)/m.exec(text);
  return match ? Number(match[1]) * 1000 : NaN;
}

async function main() {
  ensureBuilt();
  await ensurePostgres(BASE_DB);
  await ensureRedis(REDIS);
  const dispatches = Math.ceil(UPLOADS / PER_DISPATCH);
  console.log(`preparing: fresh database, ${dispatches} drivers with a dispatch each, a 4 MB photo`);
  const url = await freshDatabase(BASE_DB, 'uvis_bench_proofs');
  const emails = await createDrivers(url, dispatches);
  await clearRedisPrefix(REDIS, PREFIX);
  const uploadsDir = mkdtempSync(join(tmpdir(), 'uvis-bench-proofs-'));
  const image = await photo();
  const api = spawnNode('dist/main.js', ['api'], {
    ...uvisEnv(url, REDIS, PREFIX),
    RATE_LIMITS: 'off',
    PORT: String(PORT),
    UPLOADS_DIR: uploadsDir,
    PROOF_STORAGE: 'local',
    // REQUEST_TIMEOUT_MS stays at its default (10 s): receiving a 4 MB body over loopback takes milliseconds, and
    // an upload refused with 408 while the others decode would be a finding, counted under failures.
    ...(env.BENCH_API_NODE_OPTIONS ? { NODE_OPTIONS: env.BENCH_API_NODE_OPTIONS } : {}),
  });
  try {
    const base = `http://127.0.0.1:${PORT}`;
    await waitForHttp(`${base}/api/v1/health`, 60_000, api);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const rows = (
      await db.query(
        `select u.email, d.id as dispatch_id from users u join dispatches d on d.driver_id = u.driver_id where u.email = any($1) order by u.email`,
        [emails],
      )
    ).rows as { email: string; dispatch_id: string }[];
    await db.end();
    const drivers = await Promise.all(rows.map(async (r) => ({ dispatchId: Number(r.dispatch_id), token: await login(base, r.email, BENCH_PASSWORD) })));
    console.log(`${UPLOADS} uploads of ${(image.length / 1e6).toFixed(2)} MB, ${CONCURRENCY} at a time, to ${drivers.length} dispatches`);

    let peakRssMb = api.rssMb();
    const rssTimer = setInterval(() => (peakRssMb = Math.max(peakRssMb, api.rssMb())), 100);
    const probes: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        await fetch(`${base}/api/v1/health`).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        );
        probes.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await eventLoopLagP99Ms(base); // resets the API's histogram: what follows is the run's

    const latencies: number[] = [];
    const failures: Record<string, number> = {};
    let next = 0;
    const started = performance.now();
    const client = async () => {
      for (let n = next++; n < UPLOADS; n = next++) {
        const driver = drivers[Math.floor(n / PER_DISPATCH)]!;
        const form = new FormData();
        form.append('kind', 'photo');
        form.append('file', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'delivery.jpg');
        const t0 = performance.now();
        try {
          const res = await fetch(`${base}/api/v1/mobile/dispatches/${driver.dispatchId}/proofs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${driver.token}` },
            body: form,
          });
          await res.arrayBuffer();
          if (res.status === 201) latencies.push(performance.now() - t0);
          else failures[res.status] = (failures[res.status] ?? 0) + 1;
        } catch (err) {
          const key = err instanceof Error ? err.message : String(err);
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => client()));
    const seconds = (performance.now() - started) / 1000;
    const lagP99Ms = await eventLoopLagP99Ms(base);
    probing = false;
    await prober;
    clearInterval(rssTimer);
    peakRssMb = Math.max(peakRssMb, api.rssMb());

    latencies.sort((a, b) => a - b);
    probes.sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 10) / 10;
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
    const results = {
      when: new Date().toISOString(),
      machine,
      settings: { uploads: UPLOADS, concurrency: CONCURRENCY, photoBytes: image.length, uvThreadpoolSize: env.UV_THREADPOOL_SIZE ?? '4 (default)' },
      stored: latencies.length,
      failures,
      seconds: round(seconds),
      uploadsPerSecond: round(latencies.length / seconds),
      megabytesPerSecond: round((latencies.length * image.length) / 1e6 / seconds),
      uploadMs: {
        p50: round(percentile(latencies, 50)),
        p95: round(percentile(latencies, 95)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[latencies.length - 1] ?? NaN),
      },
      apiPeakRssMb: Math.round(peakRssMb),
      apiEventLoopLagP99Ms: round(lagP99Ms),
      healthProbeMs: {
        count: probes.length,
        p50: round(percentile(probes, 50)),
        p99: round(percentile(probes, 99)),
        max: round(probes[probes.length - 1] ?? NaN),
      },
      target: { apiPeakRssMb: RSS_TARGET_MB },
    };
    console.log(`\nproof uploads, ${machine.cpus} cores (${machine.cpuModel}), Node ${machine.node}`);
    console.log(`  stored ${results.stored} of ${UPLOADS} in ${results.seconds} s: ${results.uploadsPerSecond} uploads/s, ${results.megabytesPerSecond} MB/s`);
    if (Object.keys(failures).length) console.log(`  failures: ${JSON.stringify(failures)}`);
    console.log(
      `  upload latency: p50 ${results.uploadMs.p50} ms, p95 ${results.uploadMs.p95} ms, p99 ${results.uploadMs.p99} ms, max ${results.uploadMs.max} ms`,
    );
    console.log(`  ${peakRssMb < RSS_TARGET_MB ? 'met   ' : 'MISSED'} API peak RSS: ${results.apiPeakRssMb} MB (target < ${RSS_TARGET_MB} MB)`);
    console.log(`  API event-loop lag p99 during the uploads: ${results.apiEventLoopLagP99Ms} ms`);
    console.log(`  GET /api/v1/health during the uploads: p50 ${results.healthProbeMs.p50} ms, p99 ${results.healthProbeMs.p99} ms (${probes.length} probes)`);
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const file = projectPath('bench-results', `proofs-${results.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2));
    console.log(`\nresults: ${file}`);
    if (latencies.length !== UPLOADS) process.exitCode = 1;
  } finally {
    await api.stop();
    rmSync(uploadsDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
