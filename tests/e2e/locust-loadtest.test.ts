/**
 * `npm run loadtest` for real, with few users: Locust runs the seed's locustfile
 * (unchanged) against a UVIS the script starts in `all` mode, and the script's own
 * report says every endpoint was exercised, nothing failed and every accepted point
 * was stored. The server runs from source (LOADTEST_SERVER=source) to skip the tsc build.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { baseUrls } from '../helpers/databases.js';
import { freePort } from '../helpers/private-redis.js';

const run = promisify(execFile);
const ENDPOINTS = ['POST /api/v1/auth/login', 'GET /api/v1/mobile/dispatches', 'GET /api/v1/mobile/summary', 'POST /api/v1/mobile/location'];

interface Report {
  settings: { users: number; locustfile: string };
  locust: {
    exitCode: number;
    steady: { endpoint: string; requests: number; failures: number }[];
    wholeRun: Record<string, { requests: number; failures: number }>;
    userExceptions: number;
  };
  server: { endpoint: string; requests: number }[];
  resources: { intervals: number; apiPeakRssMb: number };
  locations: { accepted: number; apiAccepted: number; stored: number; allStored: boolean };
}

let resultsFile: string | undefined;
afterAll(() => {
  if (resultsFile) rmSync(resultsFile, { force: true });
});

describe('npm run loadtest', () => {
  it('runs the seed locustfile with Locust: all four endpoints called, no failure, every accepted point stored', { timeout: 120_000 }, async () => {
    const { directDatabaseUrl, redisUrl } = baseUrls();
    const { stdout } = await run('npm', ['run', 'loadtest'], {
      cwd: projectPath(),
      env: {
        ...process.env,
        DATABASE_URL: directDatabaseUrl,
        REDIS_URL: redisUrl,
        LOADTEST_USERS: '20',
        LOADTEST_SPAWN_RATE: '20',
        LOADTEST_DURATION: '8',
        // Both ports free: the worker's /metrics port defaults to the API's + 1, which another test may hold.
        LOADTEST_PORT: String(await freePort()),
        LOADTEST_METRICS_PORT: String(await freePort()),
        LOADTEST_SERVER: 'source',
      },
      maxBuffer: 10 * 1024 * 1024,
    });
    resultsFile = /^results: (.+\.json)$/m.exec(stdout)?.[1];
    expect(resultsFile, stdout).toBeDefined();
    const report = JSON.parse(readFileSync(resultsFile!, 'utf8')) as Report;

    // Locust's own table was printed, and the script's after it.
    expect(stdout).toContain('Response time percentiles');
    expect(stdout).toContain('The API’s own percentiles over the steady window');
    expect(report.settings.locustfile).toBe('tests/load/locustfile.py');
    expect(report.locust.exitCode).toBe(0);
    for (const endpoint of ENDPOINTS) {
      expect(report.locust.wholeRun[endpoint]?.requests, endpoint).toBeGreaterThan(0);
      expect(report.locust.wholeRun[endpoint]?.failures, endpoint).toBe(0);
    }
    expect(report.locust.wholeRun['POST /api/v1/auth/login']!.requests).toBe(20);
    expect(report.locust.userExceptions).toBe(0);
    // The steady window began after the last sign-in: Locust's table and the API's own agree on that.
    expect(report.locust.steady.find((r) => r.endpoint === 'GET /api/v1/mobile/dispatches')?.requests).toBeGreaterThan(0);
    expect(report.server.find((r) => r.endpoint === 'POST /api/v1/auth/login')).toBeUndefined();
    expect(report.server.find((r) => r.endpoint === 'GET /api/v1/mobile/dispatches')?.requests).toBeGreaterThan(0);
    expect(report.resources.intervals).toBeGreaterThan(0);
    expect(report.resources.apiPeakRssMb).toBeGreaterThan(0);

    const { accepted, apiAccepted, stored, allStored } = report.locations;
    expect(accepted).toBe(report.locust.wholeRun['POST /api/v1/mobile/location']!.requests);
    expect(apiAccepted).toBe(accepted);
    expect(stored).toBe(accepted);
    expect(allStored).toBe(true);
  });
});
