/** monitoring/ is valid for the real tools, and every dashboard query names a metric UVIS exports. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { projectPath } from '../../lib/paths.js';
import { DEMO_DISPATCHER } from '../helpers/api-client.js';
import { declaredNames } from '../helpers/prom-text.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const monitoring = (...p: string[]) => projectPath('monitoring', ...p);
const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

describe('Prometheus and Alertmanager configuration', () => {
  it('promtool check config passes (compose and local configurations)', () => {
    // The compose configuration reads the metrics token from /run/secrets/metrics_token,
    // which promtool insists exists: checked as a copy pointing at a token file made here.
    const dir = mkdtempSync(join(tmpdir(), 'uvis-prom-'));
    const token = join(dir, 'metrics_token');
    writeFileSync(token, 'test-metrics-token-0123456789\n');
    const compose = readFileSync(monitoring('prometheus.yml'), 'utf8');
    expect(compose.match(/credentials_file: \/run\/secrets\/metrics_token/g)).toHaveLength(2);
    writeFileSync(join(dir, 'prometheus.yml'), compose.replaceAll('/run/secrets/metrics_token', token));
    writeFileSync(join(dir, 'alerts.yml'), readFileSync(monitoring('alerts.yml'), 'utf8'));
    expect(run('promtool', ['check', 'config', join(dir, 'prometheus.yml')])).toContain('SUCCESS');
    expect(run('promtool', ['check', 'config', monitoring('prometheus.local.yml')])).toContain('SUCCESS');
  });

  it('promtool check rules passes, and the rule unit tests pass', () => {
    expect(run('promtool', ['check', 'rules', monitoring('alerts.yml')])).toMatch(/SUCCESS: \d+ rules found/);
    expect(run('promtool', ['test', 'rules', monitoring('tests', 'alerts.test.yml')])).toContain('SUCCESS');
  });

  it('every alert has a severity and a runbook section that exists in docs/operations.md', () => {
    const rules = parseYaml(readFileSync(monitoring('alerts.yml'), 'utf8')).groups.flatMap((g: { rules: unknown[] }) => g.rules);
    const operations = readFileSync(projectPath('docs', 'operations.md'), 'utf8').toLowerCase();
    for (const rule of rules) {
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.annotations.runbook).toBe(`docs/operations.md#${rule.alert.toLowerCase()}`);
      expect(operations, `runbook for ${rule.alert}`).toContain(`### ${rule.alert.toLowerCase()}`);
    }
  });

  it('amtool check-config passes on the rendered Alertmanager configuration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uvis-am-'));
    const rendered = join(dir, 'alertmanager.yml');
    run('sh', [monitoring('alertmanager', 'render-config.sh'), monitoring('alertmanager', 'alertmanager.yml.template'), rendered], {
      RENDER_ONLY: '1',
      SMTP_SMARTHOST: 'smtp.example.com:587',
      ALERT_EMAIL_FROM: 'uvis-alerts@example.com',
      SMTP_USERNAME: 'uvis',
      SLACK_CHANNEL: '#uvis-ops',
      ALERT_EMAIL_TO: 'ops@example.com',
    });
    const output = run('amtool', ['check-config', rendered]);
    expect(output).toContain('SUCCESS');
    expect(output).toMatch(/2 receivers/);
    const config = parseYaml(readFileSync(rendered, 'utf8'));
    expect(config.receivers.map((r: { name: string }) => r.name)).toEqual(['slack', 'slack-and-email']);
    expect(config.route.routes[0].receiver).toBe('slack-and-email');
    expect(readFileSync(rendered, 'utf8')).not.toMatch(/\$\{/);
  });

  it('the render script refuses to start Alertmanager with a variable missing', () => {
    expect(() =>
      run('sh', [monitoring('alertmanager', 'render-config.sh'), monitoring('alertmanager', 'alertmanager.yml.template'), '/dev/null'], { RENDER_ONLY: '1' }),
    ).toThrow();
  });
});

describe('Grafana dashboard', () => {
  let api: TestUvis;
  let worker: TestUvis;
  beforeAll(async () => {
    api = await startTestUvis({ role: 'api' });
    worker = await startTestUvis({ role: 'worker', database: api.database, prefix: api.config.redisPrefix });
  });
  afterAll(async () => {
    await worker?.stop({ keepData: true });
    await api?.stop();
  });

  const PROMQL_WORDS = new Set(['rate', 'sum', 'by', 'max', 'min', 'avg', 'histogram_quantile', 'le', 'without', 'increase', 'time', 'clamp_min', 'and', 'or']);

  /** Metric names in an expression: identifiers that are neither functions, keywords, nor label names. */
  function metricNames(expr: string): string[] {
    const withoutLabels = expr
      .replace(/\[[^\]]*\]/g, '')
      .replace(/\{[^}]*\}/g, '')
      .replace(/by \([^)]*\)/g, '')
      .replace(/"[^"]*"/g, '');
    return [...withoutLabels.matchAll(/[a-zA-Z_:][\w:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
  }

  it('parses, is provisioned, keeps the seed panels and names only metrics UVIS exports', async () => {
    const dashboard = JSON.parse(readFileSync(monitoring('grafana', 'dashboards', 'uvis.json'), 'utf8'));
    const provider = parseYaml(readFileSync(monitoring('grafana', 'provisioning', 'dashboards', 'dashboards.yml'), 'utf8'));
    expect(provider.providers[0].options.path).toBe('/var/lib/grafana/dashboards');
    const datasources = parseYaml(readFileSync(monitoring('grafana', 'provisioning', 'datasources', 'datasources.yml'), 'utf8'));
    expect(datasources.datasources.find((d: { uid: string }) => d.uid === 'prometheus')).toBeTruthy();
    const expressions: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    for (const seed of [
      'rate(http_requests_total[5m])',
      'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))',
      'rate(http_requests_total{status=~"5.."}[5m])',
    ]) {
      expect(expressions).toContain(seed);
    }
    // Every process reports the same queue, outbox and backup gauges: summing them
    // would multiply the figure by the number of processes.
    for (const expr of expressions.filter((e) => /uvis_(queue_jobs|outbox_|backup_last_)/.test(e))) expect(expr).not.toMatch(/\bsum\b/);
    const titles = dashboard.panels.map((p: { title: string }) => p.title).join(' | ');
    for (const topic of ['Queue depth', 'Job throughput', 'Job failures', 'Job latency']) expect(titles).toContain(topic);

    // Exported names: scrape an API and a worker after some traffic.
    const token = await api.api.login(DEMO_DISPATCHER);
    await api.api.get('/api/v1/orders', token);
    await api.api.post('/api/v1/mobile/location', { latitude: 37, longitude: 127 }, await api.api.login());
    const exported = new Set([
      ...declaredNames(await (await fetch(`${api.baseUrl}/metrics`)).text()),
      ...declaredNames(await (await fetch(`http://127.0.0.1:${worker.running.metricsPort}/metrics`)).text()),
    ]);
    for (const expr of expressions) {
      const names = metricNames(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${name} in ${expr}`).toBe(true);
    }
    // Written out for operators who want to see what the check saw.
    writeFileSync(join(tmpdir(), 'uvis-exported-metrics.txt'), [...exported].sort().join('\n'));
  });
});
