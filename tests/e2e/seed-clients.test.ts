/**
 * The seed plan's own clients, byte for byte: test_e2e.py and locustfile.py, run by
 * Python against a live UVIS through the standard-library shims in tests/seed/shims.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const run = promisify(execFile);
const shims = projectPath('tests', 'seed', 'shims');

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
    const { stdout } = await run(
      'python3',
      [projectPath('tests', 'seed', 'shims', 'locust', 'run_users.py'), projectPath('tests', 'load', 'locustfile.py'), uvis.baseUrl, '10', '3', '0.05'],
      { env: { ...process.env, PYTHONPATH: shims } },
    );
    const result = JSON.parse(stdout) as { statuses: Record<string, number>; calls: Record<string, number> };
    const failures = Object.entries(result.statuses).filter(([status]) => Number(status) >= 400);
    expect(failures).toEqual([]);
    expect(result.calls['POST /api/v1/auth/login']).toBe(10);
    expect(result.calls['GET /api/v1/mobile/dispatches']).toBeGreaterThan(0);
    expect(result.calls['GET /api/v1/mobile/summary']).toBeGreaterThan(0);
    expect(result.calls['POST /api/v1/mobile/location']).toBeGreaterThan(0);
  });
});
