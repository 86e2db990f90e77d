/**
 * npm run bench:scrape: does a flood of /metrics scrapes slow everyone else down?
 * Runs the compiled API (one process, as production does), then measures the latency
 * of ordinary requests (a driver's dispatch list, from PostgreSQL, and the health
 * probe) from BENCH_SCRAPE_CLIENTS closed-loop clients for BENCH_SCRAPE_SECONDS, first
 * alone, then while BENCH_SCRAPE_SCRAPERS clients scrape /metrics as fast as they can.
 * Prints p50/p95/p99 of the ordinary requests for both runs, and how many scrapes
 * were served. Everything (load generator included) shares the machine's cores.
 *
 * Options (environment): BENCH_SCRAPE_SECONDS=10, BENCH_SCRAPE_CLIENTS=10,
 * BENCH_SCRAPE_SCRAPERS=20, DATABASE_URL / REDIS_URL (servers to use).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { projectPath } from '../lib/paths.js';
import { startBenchApi } from './bench/api.js';
import { percentile } from './bench/load.js';

const env = process.env;
const SECONDS = Number(env.BENCH_SCRAPE_SECONDS ?? 10);
const CLIENTS = Number(env.BENCH_SCRAPE_CLIENTS ?? 10);
const SCRAPERS = Number(env.BENCH_SCRAPE_SCRAPERS ?? 20);
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchscrape';
const PORT = 3204;

interface Run {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  scrapes: number;
}

/** Closed-loop clients alternating the dispatch list and the health probe; optional scrapers beside them. */
async function measure(base: string, tokens: string[], scrapers: number, seconds: number): Promise<Run> {
  const until = Date.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let scrapes = 0;
  const client = async (i: number) => {
    let n = 0;
    while (Date.now() < until) {
      const path = n++ % 2 === 0 ? '/api/v1/mobile/dispatches' : '/api/v1/health';
      const started = performance.now();
      try {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${tokens[i % tokens.length]}` } });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
        else latencies.push(performance.now() - started);
      } catch {
        errors++;
      }
    }
  };
  const scraper = async () => {
    while (Date.now() < until) {
      try {
        const res = await fetch(`${base}/metrics`);
        await res.arrayBuffer();
        if (res.status === 200) scrapes++;
      } catch {
        // counted by its absence
      }
    }
  };
  await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => client(i)), ...Array.from({ length: scrapers }, () => scraper())]);
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    requests: latencies.length,
    errors,
    p50: round(percentile(latencies, 50)),
    p95: round(percentile(latencies, 95)),
    p99: round(percentile(latencies, 99)),
    scrapes,
  };
}

async function main() {
  const { api, base, tokens } = await startBenchApi({
    baseDb: BASE_DB,
    redis: REDIS,
    database: 'uvis_bench_scrape',
    prefix: PREFIX,
    port: PORT,
    drivers: CLIENTS,
  });
  try {
    await measure(base, tokens, 0, 2); // warm-up: JIT, pools, caches
    const quiet = await measure(base, tokens, 0, SECONDS);
    const flood = await measure(base, tokens, SCRAPERS, SECONDS);
    const row = (name: string, r: Run) =>
      `  ${name.padEnd(26)} p50 ${String(r.p50).padStart(6)} ms   p95 ${String(r.p95).padStart(6)} ms   p99 ${String(r.p99).padStart(6)} ms   ` +
      `${r.requests} requests, ${r.errors} errors, ${r.scrapes} scrapes`;
    console.log(`\nOrdinary requests (${CLIENTS} clients, ${SECONDS} s each, Node ${process.versions.node}):`);
    console.log(row('alone', quiet));
    console.log(row(`with ${SCRAPERS} scrapers`, flood));
    mkdirSync(projectPath('bench-results'), { recursive: true });
    const file = projectPath('bench-results', `scrape-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ node: process.versions.node, seconds: SECONDS, clients: CLIENTS, scrapers: SCRAPERS, quiet, flood }, null, 2));
    console.log(`\n${file}`);
  } finally {
    await api.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
