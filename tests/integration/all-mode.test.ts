/**
 * The `all` command (what `npm start` and `docker run IMAGE` run): the API and the workers
 * as two child processes of one parent, one output stream, stopped together (issue 20).
 * Runs the real CLI, its stdout to a file as an operator's redirect or Docker's log would take it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../db/knex.js';
import { ApiClient, waitFor } from '../helpers/api-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { freePort } from '../helpers/private-redis.js';
import { has, parseMetrics, total } from '../helpers/prom-text.js';
import { useScratch } from '../helpers/scratch.js';
import { startUvisProcess, type UvisProcess } from '../helpers/uvis-process.js';
import { deleteRedisPrefix, newPrefix } from '../helpers/uvis.js';

const { tempDir, cleanups } = useScratch();

type LogLine = Record<string, unknown> & { role: string; msg: string };

/** Every line of the file; a line that is not one whole JSON object fails the test. */
function logLines(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a whole JSON line: ${line.slice(0, 300)}`);
      }
    });
}

/** The children's pids, from the parent's lines (written at once, unbuffered). */
async function childPids(file: string): Promise<{ api: number; worker: number }> {
  return waitFor(
    async () => {
      const started = logLines(file).filter((l) => l.role === 'all' && /^started the (api|worker) process$/.test(l.msg));
      const pid = (child: string) => started.find((l) => l.child === child)?.pid as number | undefined;
      const [api, worker] = [pid('api'), pid('worker')];
      return api && worker ? { api, worker } : undefined;
    },
    { what: 'the parent to log its children' },
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const healthy = async (url: string, timeoutMs = 5000) => (await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(timeoutMs) })).ok;

async function metricsOf(url: string) {
  return parseMetrics(await (await fetch(`${url}/metrics`)).text());
}

interface AllMode {
  uvis: UvisProcess;
  file: string;
  workerUrl: string;
  pids: { api: number; worker: number };
}

async function startAll(database: TestDatabase, prefix: string, name: string): Promise<AllMode> {
  const file = join(tempDir('all-mode'), `${name}.log`);
  const metricsPort = await freePort();
  const env = { DATABASE_URL: database.url, REDIS_PREFIX: prefix, LOG_LEVEL: 'info', METRICS_PORT: String(metricsPort) };
  const uvis = await startUvisProcess('all', env, undefined, { stdoutFile: file, processGroup: true });
  cleanups.push(async () => {
    if (uvis.child.exitCode === null) process.kill(-uvis.child.pid!, 'SIGKILL');
  });
  const workerUrl = `http://127.0.0.1:${metricsPort}`;
  await waitFor(() => healthy(workerUrl), { timeoutMs: 30_000, what: 'the worker process to start' });
  return { uvis, file, workerUrl, pids: await childPids(file) };
}

const exitCode = (uvis: UvisProcess) =>
  new Promise<number | null>((resolve) => (uvis.child.exitCode !== null ? resolve(uvis.child.exitCode) : uvis.child.once('exit', resolve)));

const completed = (lines: LogLine[], role: string) => lines.some((l) => l.role === role && l.msg === 'shutdown complete' && l.failedSteps === 0);

describe('`main.ts all`: the API and the workers in two processes', () => {
  let database: TestDatabase;
  let db: Db;
  const prefix = newPrefix();
  let all: AllMode;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 30_000 });
    cleanups.push(
      () => database.drop(),
      () => deleteRedisPrefix(prefix),
      () => db.destroy(),
    );
    all = await startAll(database, prefix, 'main');
  }, 90_000);
  afterAll(async () => {
    if (all?.uvis.child.exitCode === null) await all.uvis.stop();
  });

  it('runs the API and the worker in two processes, and a GPS point answered 202 is stored by the worker', async () => {
    const { api, worker } = all.pids;
    expect(api).not.toBe(worker);
    expect([api, worker, all.uvis.child.pid].every((pid) => pid !== undefined && isAlive(pid))).toBe(true);
    expect(new Set([api, worker, all.uvis.child.pid]).size).toBe(3);

    const client = new ApiClient(all.uvis.url);
    const token = await client.login();
    const posted = await client.post('/api/v1/mobile/location', { latitude: 34.1, longitude: 126.1 }, token);
    expect(posted.status).toBe(202);
    await waitFor(async () => (await db('vehicle_locations').where({ driver_id: 1, latitude: 34.1 })).length === 1, { what: 'the point stored' });
    // Counted by the worker process (its metrics server), not by the API's.
    expect(total(await metricsOf(all.workerUrl), 'uvis_locations_stored_total', { role: 'worker' })).toBeGreaterThanOrEqual(1);
  });

  it('exports the event-loop lag of each process under its role', async () => {
    const api = await metricsOf(all.uvis.url);
    const worker = await metricsOf(all.workerUrl);
    for (const name of ['nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(has(api, name, { role: 'api' }), `${name} from the API`).toBe(true);
      expect(has(worker, name, { role: 'worker' }), `${name} from the worker`).toBe(true);
    }
    expect(has(api, 'nodejs_eventloop_lag_p99_seconds', { role: 'worker' })).toBe(false);
  });

  it('keeps answering on the API while the worker process is frozen, and the worker catches up after', async () => {
    const client = new ApiClient(all.uvis.url);
    const token = await client.login();
    // SIGSTOP holds the worker's event loop (and all of it) still: in one process, nothing would answer.
    process.kill(all.pids.worker, 'SIGSTOP');
    try {
      // The worker's own endpoint proves the freeze took: it cannot answer at all.
      await expect(healthy(all.workerUrl, 2000)).rejects.toThrow();
      expect(await healthy(all.uvis.url)).toBe(true);
      const posted = await client.post('/api/v1/mobile/location', { latitude: 34.2, longitude: 126.2 }, token);
      expect(posted.status).toBe(202);
      expect(await db('vehicle_locations').where({ driver_id: 1, latitude: 34.2 })).toHaveLength(0);
    } finally {
      process.kill(all.pids.worker, 'SIGCONT');
    }
    await waitFor(async () => (await db('vehicle_locations').where({ driver_id: 1, latitude: 34.2 })).length === 1, {
      what: 'the point stored after the thaw',
    });
  });

  it('stops both on Ctrl-C (SIGINT to the process group) with exit code 0, finishing the job in flight through a second Ctrl-C', async () => {
    const client = new ApiClient(all.uvis.url);
    const token = await client.login();
    // Hold driver 1's position row so the location writer's transaction is still running when the signal lands.
    const trx = await db.transaction();
    try {
      await trx.raw(`insert into driver_positions (driver_id, latitude, longitude, recorded_at) values (1, 0, 0, now() - interval '1 day')
                     on conflict (driver_id) do update set latitude = 0`);
      const posted = await client.post('/api/v1/mobile/location', { latitude: 34.3, longitude: 126.3 }, token);
      expect(posted.status).toBe(202);
      await waitFor(
        async () =>
          (await db.raw(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = ?`, [database.name])).rows[0].n > 0,
        { what: 'the job to block on the row' },
      );
      process.kill(-all.uvis.child.pid!, 'SIGINT');
      // The worker's first shutdown step closes its metrics server: it is now draining, the job still held.
      await waitFor(async () => !(await healthy(all.workerUrl).catch(() => false)), { what: 'the worker to start shutting down' });
      expect(await db('vehicle_locations').where({ driver_id: 1, latitude: 34.3 })).toHaveLength(0);
      // An impatient second Ctrl-C mid-drain: the job must still be finished, not lost with a killed worker.
      process.kill(-all.uvis.child.pid!, 'SIGINT');
    } finally {
      await trx.commit();
    }
    expect(await exitCode(all.uvis)).toBe(0);
    expect(await db('vehicle_locations').where({ driver_id: 1, latitude: 34.3 })).toHaveLength(1);
    const lines = logLines(all.file);
    expect(completed(lines, 'api'), 'the API logged its shutdown').toBe(true);
    expect(completed(lines, 'worker'), 'the worker logged its shutdown').toBe(true);
    // Three signals reached the worker (Ctrl-C, the parent's SIGTERM, the second Ctrl-C); two were only noted.
    expect(lines.filter((l) => l.role === 'worker' && l.msg === 'already shutting down')).toHaveLength(2);
    expect(lines.find((l) => l.role === 'all' && l.msg === 'the api and worker processes have stopped')).toMatchObject({ code: 0 });
    expect(isAlive(all.pids.api) || isAlive(all.pids.worker)).toBe(false);
  }, 90_000);

  it('wrote every line of the three processes to the one output, each a whole JSON line', () => {
    // logLines fails on any line that is not a whole JSON object.
    const roles = new Set(logLines(all.file).map((l) => l.role));
    expect([...roles].sort()).toEqual(['all', 'api', 'worker']);
  });
});

describe('`main.ts all` stopped or broken from outside', () => {
  let database: TestDatabase;
  const prefix = newPrefix();

  beforeAll(async () => {
    database = await createTestDatabase();
    cleanups.push(
      () => database.drop(),
      () => deleteRedisPrefix(prefix),
    );
  });

  // Each starts its own `all` (tsx, development preparation): longer than the default.
  it('stops both gracefully on SIGTERM to the parent alone (kill <pid>, docker stop)', async () => {
    const { uvis, file, pids } = await startAll(database, prefix, 'sigterm');
    uvis.child.kill('SIGTERM');
    expect(await exitCode(uvis)).toBe(0);
    const lines = logLines(file);
    expect(completed(lines, 'api')).toBe(true);
    expect(completed(lines, 'worker')).toBe(true);
    expect(isAlive(pids.api) || isAlive(pids.worker)).toBe(false);
  }, 90_000);

  it('stops the API gracefully and exits 1 when the worker process is killed, for the supervisor to restart both', async () => {
    const { uvis, file, pids } = await startAll(database, prefix, 'sigkill');
    process.kill(pids.worker, 'SIGKILL');
    expect(await exitCode(uvis)).toBe(1);
    const lines = logLines(file);
    expect(lines.find((l) => l.role === 'all' && l.level === 'error' && l.child === 'worker')).toMatchObject({ signal: 'SIGKILL' });
    expect(completed(lines, 'api'), 'the API drained and logged its shutdown').toBe(true);
    expect(isAlive(pids.api)).toBe(false);
  }, 90_000);
});
