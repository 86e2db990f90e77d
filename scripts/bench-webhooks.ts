/**
 * npm run bench:webhooks: webhook fan-out (issue 16): BENCH_WEBHOOK_EVENTS events (1,000) to
 * BENCH_WEBHOOK_ENDPOINTS endpoints (10), each a local receiver, with the p99 from an event's
 * commit to its first delivery attempt reaching each receiver (target: under 1 s on the 2-core
 * machine).
 *
 * One UVIS process (role all: API, workers, outbox relay) on a fresh database, started in this
 * process; BENCH_WEBHOOK_ROLE=worker runs the API role here (it commits and relays) and the
 * webhooks queue in a worker process of its own (the compiled build, WORKER_QUEUES=webhooks). The receivers (the shippers' side) run in a child process
 * (scripts/bench/webhook-receivers.ts), on the same two cores. Events are committed
 * through the same path as real changes (use-cases/announce.ts announceWebhook in a unit of work:
 * outbox row, relay kick) at BENCH_WEBHOOK_RATE events a second (200: 2,000 deliveries a second)
 * from 8 concurrent writers. Prints p50/p95/p99/max and throughput.
 *
 * Options (environment): BENCH_WEBHOOK_EVENTS, BENCH_WEBHOOK_ENDPOINTS, BENCH_WEBHOOK_RATE,
 * BENCH_WEBHOOK_ROLE (all: one process; worker: a webhooks worker process), WEBHOOK_CONCURRENCY
 * (200), DATABASE_URL / REDIS_URL (servers to use).
 */
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { startUvis } from '../app/start.js';
import { loadConfig } from '../lib/config.js';
import { ensurePostgres, ensureRedis } from '../lib/local-services.js';
import { encryptSecret, newWebhookSecret } from '../lib/webhook-secrets.js';
import { announceWebhook } from '../use-cases/announce.js';
import { transaction } from '../use-cases/transaction.js';
import { clearRedisPrefix, freshDatabase } from './bench/fixtures.js';
import { percentile as pct } from './bench/load.js';
import { ensureBuilt, spawnNode, uvisEnv, waitForHttp, type Child } from './bench/processes.js';

const env = process.env;
const EVENTS = Number(env.BENCH_WEBHOOK_EVENTS ?? 1000);
const ENDPOINTS = Number(env.BENCH_WEBHOOK_ENDPOINTS ?? 10);
const RATE = Number(env.BENCH_WEBHOOK_RATE ?? 200);
const WRITERS = 8;
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'uvisbenchwebhooks';
const SEPARATE_WORKER = env.BENCH_WEBHOOK_ROLE === 'worker';

async function main() {
  await ensurePostgres(BASE_DB);
  await ensureRedis(REDIS);
  console.log(`preparing: fresh database, ${ENDPOINTS} local receivers`);
  const url = await freshDatabase(BASE_DB, 'uvis_bench_webhooks');
  await clearRedisPrefix(REDIS, PREFIX);

  const committedAt = new Map<number, number>();
  const receivers = fork(fileURLToPath(new URL('./bench/webhook-receivers.ts', import.meta.url)), [String(ENDPOINTS)], { execArgv: ['--import', 'tsx'] });
  const ask = <T>(type: string, key: string) =>
    new Promise<T>((resolve) => {
      const on = (msg: Record<string, unknown>) => {
        if (key in msg) {
          receivers.off('message', on);
          resolve(msg[key] as T);
        }
      };
      receivers.on('message', on);
      if (type) receivers.send({ type });
    });
  const ports = await ask<number[]>('', 'ports');

  const config = loadConfig({
    ...env,
    NODE_ENV: 'development',
    DEMO_DATA: 'false',
    DATABASE_URL: url,
    REDIS_URL: REDIS,
    REDIS_PREFIX: PREFIX,
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SCHEDULES: 'off',
    OUTBOX_POLL_MS: '1000',
  });
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const uvis = await startUvis(config, { role: SEPARATE_WORKER ? 'api' : 'all', logDestination: quiet });
  const { deps } = uvis;
  let worker: Child | undefined;
  if (SEPARATE_WORKER) {
    ensureBuilt();
    worker = spawnNode('dist/main.js', ['worker'], {
      ...uvisEnv(url, REDIS, PREFIX),
      LOG_LEVEL: 'warn',
      WORKER_QUEUES: 'webhooks',
      METRICS_PORT: '9467',
      ...(env.WEBHOOK_CONCURRENCY ? { WEBHOOK_CONCURRENCY: env.WEBHOOK_CONCURRENCY } : {}),
    });
    await waitForHttp('http://127.0.0.1:9467/health', 60_000, worker);
  }
  const queries = new Map<string, number>();
  if (env.BENCH_WEBHOOK_COUNT_QUERIES) deps.db.on('query', (q: { sql: string }) => queries.set(q.sql.slice(0, 60), (queries.get(q.sql.slice(0, 60)) ?? 0) + 1));
  for (const port of ports) {
    const secret = newWebhookSecret();
    await deps.db('webhook_endpoints').insert({
      url: `http://127.0.0.1:${port}/hook`,
      events: ['*'],
      secret_enc: encryptSecret(config.webhooks.secretKey, secret),
    });
  }

  console.log(
    `committing ${EVENTS} events at ${RATE}/s (${WRITERS} writers) to ${ENDPOINTS} endpoints, WEBHOOK_CONCURRENCY=${config.webhooks.concurrency}, ${SEPARATE_WORKER ? 'webhooks worker in a process of its own' : 'one process (role all)'}`,
  );
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (;;) {
        const seq = next++;
        if (seq >= EVENTS) return;
        const due = started + (seq * 1000) / RATE;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        await transaction(deps, (tx) => announceWebhook(tx, 'order.created', null, { seq, order_id: seq + 1 }));
        committedAt.set(seq, Date.now());
      }
    }),
  );
  const committed = Date.now();
  const expected = EVENTS * ENDPOINTS;
  const deadline = Date.now() + 120_000;
  while ((await ask<number>('count', 'count')) < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const arrivals = await ask<[string, number][]>('arrivals', 'arrivals');
  const latencies = arrivals.map(([key, at]) => at - committedAt.get(Number(key.split(':')[1]))!);
  const lastArrival = Math.max(...arrivals.map(([, at]) => at));
  const sorted = [...latencies].sort((a, b) => a - b);
  const seconds = (lastArrival - started) / 1000;
  console.log('');
  console.log(`machine: ${cpus().length} cores, Node ${process.version}`);
  console.log(`events committed: ${EVENTS} in ${((committed - started) / 1000).toFixed(2)} s`);
  console.log(
    `first attempts received: ${latencies.length} of ${expected} in ${seconds.toFixed(2)} s (${Math.round(latencies.length / seconds)} deliveries/s)`,
  );
  console.log(`commit -> first attempt: p50 ${pct(sorted, 50)} ms, p95 ${pct(sorted, 95)} ms, p99 ${pct(sorted, 99)} ms, max ${sorted.at(-1)} ms`);
  console.log(`target p99 < 1000 ms: ${pct(sorted, 99) < 1000 && latencies.length === expected ? 'met' : 'NOT met'}`);

  // Where the time goes: an event's fan-out job waiting in the queue (added -> started), and running (its first attempts).
  const fanOuts = (await deps.queues.webhooks!.getJobs(['completed'], 0, EVENTS * 2)).filter(
    (j) => j.name === 'webhook.event' && j.processedOn && j.finishedOn,
  );
  const waits = fanOuts.map((j) => j.processedOn! - j.timestamp).sort((a, b) => a - b);
  const runs = fanOuts.map((j) => j.finishedOn! - j.processedOn!).sort((a, b) => a - b);
  console.log(
    `fan-out jobs: ${fanOuts.length}; queued -> started p50 ${pct(waits, 50)} ms, p99 ${pct(waits, 99)} ms; running (first attempts) p50 ${pct(runs, 50)} ms, p99 ${pct(runs, 99)} ms`,
  );
  if (env.BENCH_WEBHOOK_COUNT_QUERIES) for (const [sql, n] of [...queries].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(n, sql);
  await worker?.stop();
  await uvis.shutdown.run('benchmark finished');
  receivers.kill();
  await clearRedisPrefix(REDIS, PREFIX);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
