/**
 * The seed plan's own clients, byte for byte: test_e2e.py and locustfile.py, run by
 * Python against a live UVIS through the standard-library shims in tests/seed/shims.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { freePort } from '../helpers/private-redis.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const run = promisify(execFile);
const shims = projectPath('tests', 'seed', 'shims');

interface RunSummary {
  statuses: Record<string, number>;
  calls: Record<string, number>;
  failures: Record<string, number>;
  errors: Record<string, number>;
  users: { started: number; finished: number; dead: number };
}

/** Runs the Locust shim and returns its exit code and JSON summary, whatever the exit code. */
async function runUsers(locustfile: string, host: string, users: number, seconds: number): Promise<{ code: number; summary: RunSummary; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      'python3',
      [projectPath('tests', 'seed', 'shims', 'locust', 'run_users.py'), locustfile, host, String(users), String(seconds), '0.05'],
      {
        env: { ...process.env, PYTHONPATH: shims },
      },
    );
    return { code: 0, summary: JSON.parse(stdout), stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number' || !e.stdout) throw err;
    return { code: e.code, summary: JSON.parse(e.stdout), stderr: e.stderr ?? '' };
  }
}

let uvis: TestUvis;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
});
afterAll(async () => {
  await uvis?.stop();
});

describe('seed clients, unchanged', () => {
  it('the copies are the seed plan’s code blocks (the shims adapt the runtime, not the clients)', () => {
    const e2e = readFileSync(projectPath('tests', 'seed', 'test_e2e.py'), 'utf8');
    expect(e2e).toContain('client.post("/api/v1/auth/login", data={');
    expect(e2e).toContain('assert order_check.json()["status"] == "COMPLETED"');
    const locust = readFileSync(projectPath('tests', 'load', 'locustfile.py'), 'utf8');
    expect(locust).toContain('@task(3)');
    expect(locust).toContain('"/api/v1/mobile/location"');
  });

  it('test_e2e.py passes against a live instance', async () => {
    const { stdout } = await run('python3', ['run_e2e.py'], {
      cwd: shims,
      env: { ...process.env, PYTHONPATH: shims, UVIS_BASE_URL: uvis.baseUrl },
    });
    expect(stdout).toContain('passed');
  });

  it('the locustfile’s users run their task mix with no errors', async () => {
    const { code, summary } = await runUsers(projectPath('tests', 'load', 'locustfile.py'), uvis.baseUrl, 10, 3);
    expect(summary.failures).toEqual({});
    expect(summary.errors).toEqual({});
    expect(summary.users).toEqual({ started: 10, finished: 10, dead: 0 });
    expect(code).toBe(0);
    const failures = Object.entries(summary.statuses).filter(([status]) => Number(status) >= 400 || status === '0');
    expect(failures).toEqual([]);
    expect(summary.calls['POST /api/v1/auth/login']).toBe(10);
    expect(summary.calls['GET /api/v1/mobile/dispatches']).toBeGreaterThan(0);
    expect(summary.calls['GET /api/v1/mobile/summary']).toBeGreaterThan(0);
    expect(summary.calls['POST /api/v1/mobile/location']).toBeGreaterThan(0);
  });
});

describe('the Locust shim fails a run that went wrong', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'uvis-locust-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts transport errors as failures and exits 1 when the server is unreachable', async () => {
    // A port nothing listens on: every connection is refused.
    const host = `http://127.0.0.1:${await freePort()}`;
    const { code, summary } = await runUsers(projectPath('tests', 'load', 'locustfile.py'), host, 3, 1);
    expect(code).toBe(1);
    expect(summary.statuses).toEqual({ 0: 3 });
    const failures = Object.entries(summary.failures);
    expect(failures).toHaveLength(1);
    expect(failures[0]![0]).toMatch(/^POST \/api\/v1\/auth\/login: URLError: .*Connection refused/);
    expect(failures[0]![1]).toBe(3);
    // The seed's on_start reads the token from the answer that never came: each user dies.
    expect(summary.users).toEqual({ started: 3, finished: 0, dead: 3 });
  });

  it('exits 1 when a user dies, even though every request it sent succeeded', async () => {
    const locustfile = join(dir, 'dying_locustfile.py');
    writeFileSync(
      locustfile,
      [
        'from locust import HttpUser, task, between',
        '',
        'class DyingUser(HttpUser):',
        '    wait_time = between(0, 0)',
        '',
        '    def on_start(self):',
        '        response = self.client.post("/api/v1/auth/login", data={"username": "test@example.com", "password": "testpass"})',
        '        self.token = response.json()["acess_token"]  # a typo: KeyError, the user dies',
        '',
        '    @task',
        '    def health(self):',
        '        self.client.get("/api/v1/health")',
        '',
      ].join('\n'),
    );
    const { code, summary } = await runUsers(locustfile, uvis.baseUrl, 2, 1);
    expect(summary.statuses).toEqual({ 200: 2 });
    expect(summary.failures).toEqual({});
    expect(summary.errors).toEqual({ "on_start: KeyError: 'acess_token'": 2 });
    expect(summary.users).toEqual({ started: 2, finished: 0, dead: 2 });
    expect(code).toBe(1);
  });

  it('exits 1 when a task raises, and the user goes on as with Locust', async () => {
    const locustfile = join(dir, 'raising_locustfile.py');
    writeFileSync(
      locustfile,
      [
        'from locust import HttpUser, task, between',
        '',
        'class RaisingUser(HttpUser):',
        '    wait_time = between(0.2, 0.2)',
        '',
        '    def on_start(self):',
        '        pass',
        '',
        '    @task',
        '    def health(self):',
        '        self.client.get("/api/v1/health").json()["no_such_field"]',
        '',
      ].join('\n'),
    );
    const { code, summary } = await runUsers(locustfile, uvis.baseUrl, 1, 1);
    expect(summary.failures).toEqual({});
    expect(Object.keys(summary.errors)).toEqual(["health: KeyError: 'no_such_field'"]);
    expect(summary.calls['GET /api/v1/health']).toBeGreaterThan(1);
    expect(summary.users).toEqual({ started: 1, finished: 1, dead: 0 });
    expect(code).toBe(1);
  });
});
