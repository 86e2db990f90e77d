/**
 * A real Prometheus (Debian's) scrapes a running API and worker on loopback; the
 * seed's three Grafana expressions and a queue-depth expression return data through
 * its HTTP query API, and our alert rules load and evaluate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { freePort, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let redis: PrivateRedis;
let api: TestUvis;
let worker: TestUvis;
let prometheus: ChildProcess;
let promUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'uvis-prom-'));

beforeAll(async () => {
  redis = await startPrivateRedis();
  api = await startTestUvis({ role: 'api', env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' } });
  worker = await startTestUvis({ role: 'worker', database: api.database, prefix: api.config.redisPrefix, env: { REDIS_URL: redis.url } });
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ${projectPath('monitoring', 'alerts.yml')}
scrape_configs:
  - job_name: uvis-api
    static_configs: [{ targets: ['127.0.0.1:${api.running.port}'] }]
  - job_name: uvis-worker
    static_configs: [{ targets: ['127.0.0.1:${worker.running.metricsPort}'] }]
`,
  );
  prometheus = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    {
      stdio: 'ignore',
    },
  );
  await waitFor(async () => (await fetch(`${promUrl}/-/ready`)).ok, { timeoutMs: 20_000, what: 'prometheus' });
}, 60_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await worker?.stop({ keepData: true });
  await api?.stop();
  await redis?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function query(expr: string): Promise<unknown[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data: { result: unknown[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

describe('Prometheus', () => {
  it("returns data for the seed's three panels and for queue depth", async () => {
    const dispatcher = await api.api.login(DEMO_DISPATCHER);
    const driver = await api.api.login();
    const traffic = async () => {
      await api.api.get('/api/v1/orders?limit=5', dispatcher);
      await api.api.post('/api/v1/mobile/location', { latitude: 37.5, longitude: 127 }, driver);
    };
    for (let i = 0; i < 5; i++) await traffic();
    // A short Redis outage gives the 5xx panel something to show.
    await redis.stop();
    expect((await api.api.post('/api/v1/mobile/location', { latitude: 37.5, longitude: 127 }, driver)).status).toBe(503);
    await redis.start();
    await waitFor(async () => (await api.api.post('/api/v1/mobile/location', { latitude: 37.5, longitude: 127 }, driver)).status === 202, {
      what: 'redis back',
    });

    const expressions = [
      'rate(http_requests_total[5m])',
      'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))',
      'rate(http_requests_total{status=~"5.."}[5m])',
      'max by (queue, state) (uvis_queue_jobs{state=~"waiting|active|delayed|failed"})',
      'sum by (queue) (rate(uvis_jobs_processed_total{outcome="completed"}[5m]))',
    ];
    for (const expr of expressions) {
      const result = await waitFor(
        async () => {
          // Keep traffic flowing while Prometheus collects its samples.
          await traffic();
          const found = await query(expr);
          return found.length > 0 ? found : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: expr },
      );
      expect(result.length).toBeGreaterThan(0);
    }
    const errors = (await query('sum by (route, status) (http_requests_total{status=~"5.."})')) as { metric: { route: string } }[];
    expect(errors.map((r) => r.metric.route)).toContain('/api/v1/mobile/location');
  }, 90_000);

  it('loads the alert rules and evaluates them without errors', async () => {
    const res = await fetch(`${promUrl}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name)).toEqual(expect.arrayContaining(['UvisApiDown', 'UvisWorkerDown', 'UvisApi5xxRateHigh', 'UvisQueueBacklogGrowing']));
    await waitFor(
      async () => {
        const current = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as typeof body;
        const all = current.data.groups.flatMap((g) => g.rules);
        return all.every((r) => r.health === 'ok') ? all : undefined;
      },
      { timeoutMs: 15_000, what: 'rules evaluated' },
    );
  });
});
