/** The real entry point as a child process: it serves, and exits cleanly on SIGTERM and SIGINT. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { waitFor } from '../helpers/api-client.js';
import { createTestDatabase, baseUrls, type TestDatabase } from '../helpers/databases.js';
import { freePort } from '../helpers/private-redis.js';
import { deleteRedisPrefix, newPrefix } from '../helpers/uvis.js';

let database: TestDatabase;
const prefix = newPrefix();
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
  await deleteRedisPrefix(prefix);
});

async function runUntilSignal(role: string, signal: NodeJS.Signals, times = 1, env: Record<string, string> = {}) {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', projectPath('main.ts'), role], {
    cwd: projectPath(),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      REDIS_URL: baseUrls().redisUrl,
      REDIS_PREFIX: prefix,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A worker process answers health checks on its metrics port.
  const healthUrl = `http://127.0.0.1:${role === 'worker' ? metricsPort : port}/api/v1/health`;
  await waitFor(async () => (await fetch(healthUrl)).ok, { timeoutMs: 20_000, what: 'the process' });
  const started = Date.now();
  child.kill(signal);
  // Again while it drains, as Ctrl-C in a terminal arrives through npm and tsx too.
  for (let i = 1; i < times; i++) {
    // Readiness answers 503 once draining has begun (the log may still sit in its buffer).
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`)).status === 503, { what: 'the drain to start' });
    expect(child.kill(signal)).toBe(true);
  }
  const code = await exit;
  return { code, output, tookMs: Date.now() - started };
}

describe('process signals', () => {
  it.each([
    ['all', 'SIGTERM'],
    ['api', 'SIGINT'],
    ['worker', 'SIGTERM'],
  ] as const)('%s exits 0 on %s after a clean shutdown', async (role, signal) => {
    const { code, output, tookMs } = await runUntilSignal(role, signal);
    expect(code, output).toBe(0);
    expect(output).toContain('"msg":"shutdown complete"');
    expect(output).toContain(`"reason":"${signal}"`);
    expect(tookMs).toBeLessThan(15_000);
  });

  it('a second signal during the shutdown is noted, not obeyed: the drain completes', async () => {
    // A drain delay keeps the process shutting down long enough for the second signal to land.
    const { code, output } = await runUntilSignal('all', 'SIGTERM', 2, { SHUTDOWN_DRAIN_DELAY_MS: '1500' });
    expect(code, output).toBe(0);
    expect(output).toContain('"msg":"already shutting down"');
    expect(output).toContain('"msg":"shutdown complete"');
  });
});
