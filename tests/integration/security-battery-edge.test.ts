/**
 * Part of the security battery (issue 14, the edge items): what reaches the process
 * from outside before anyone signs in. /metrics only at its exact path and behind a
 * token in production, and cheap however often it is scraped; weak signing secrets
 * refused; a per-address limit on every route without sign-in; slow clients cut off;
 * the API reference switchable off. Real HTTP over TCP, real PostgreSQL and Redis.
 */
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { DEMO_ADMIN } from '../helpers/api-client.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const STRONG = 'q8Vn3+Zt0pLw7sXc2bYr5mKa9dHf4jGe6uTi1oPz';
/** Production also needs the webhook secrets' key (issue 16); these tests are about the other settings. */
const WEBHOOK_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

interface Dribble {
  /** When the server closed the socket, in ms after the headers were sent; undefined if it never did before the deadline. */
  closedAfterMs: number | undefined;
  /** What the server wrote before closing. */
  answer: string;
}

/**
 * Opens a raw TCP connection, sends `head` at once, then `dribble` one byte every
 * 100 ms until the server closes the socket or deadlineMs passes (a bounded loop).
 */
function dribble(port: number, head: string, body: string, deadlineMs: number): Promise<Dribble> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let answer = '';
    let started = 0;
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedAfterMs: number | undefined) => {
      clearInterval(timer);
      socket.destroy();
      resolve({ closedAfterMs, answer });
    };
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => finish(Date.now() - started));
    socket.on('connect', () => {
      socket.write(head);
      started = Date.now();
      timer = setInterval(() => {
        if (Date.now() - started > deadlineMs) return finish(undefined);
        if (sent < body.length && !socket.destroyed) socket.write(body[sent++]!);
      }, 100);
    });
  });
}

describe('security battery (edge): /metrics, public route limits, slow clients, API docs', () => {
  let uvis: TestUvis;
  let worker: TestUvis;

  beforeAll(async () => {
    uvis = await startTestUvis({
      role: 'all',
      env: { RATE_LIMIT_PUBLIC: '5', HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' },
    });
    worker = await startTestUvis({
      role: 'worker',
      database: uvis.database,
      prefix: uvis.config.redisPrefix,
      env: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' },
    });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop({ keepData: true });
    await uvis?.stop();
  });

  describe('item 2: /metrics', () => {
    it('answers only at its exact paths: other cases and trailing slashes are 404, as are other routes spelled differently', async () => {
      expect((await get(uvis.baseUrl, '/metrics')).status).toBe(200);
      expect((await get(uvis.baseUrl, '/api/v1/metrics')).status).toBe(200);
      for (const path of ['/METRICS', '/Metrics', '/metrics/', '/api/v1/Metrics', '/API/V1/metrics', '/api/v1/metrics/', '/Api/v1/health', '/api/v1/health/']) {
        const res = await get(uvis.baseUrl, path);
        expect(res.status, path).toBe(404);
        expect(res.body, path).not.toContain('# HELP');
      }
      // The worker's own metrics server is just as strict.
      const workerBase = `http://127.0.0.1:${worker.running.metricsPort}`;
      expect((await get(workerBase, '/metrics')).status).toBe(200);
      for (const path of ['/METRICS', '/metrics/']) expect((await get(workerBase, path)).status, path).toBe(404);
    });

    it('production refuses to start without METRICS_TOKEN, with a clear error', () => {
      const problems = configProblems({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY, JWT_SECRET: STRONG });
      expect(problems.find((p) => p.startsWith('METRICS_TOKEN'))).toMatch(/required in production/);
      expect(configProblems({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY, JWT_SECRET: STRONG, METRICS_TOKEN: 'a1b2c3d4e5f6a7b8c9d0' })).toEqual([]);
    });

    it('a flood of concurrent scrapes reads PostgreSQL and Redis at most once a second', async () => {
      const { db } = uvis.running.deps;
      const backupsQueries: number[] = [];
      const listener = (q: { sql: string }) => {
        if (q.sql.includes('"backups"')) backupsQueries.push(Date.now());
      };
      const queues = Object.values(uvis.running.deps.queues);
      const countsCalls: number[] = [];
      const originals = queues.map((queue) => queue.getJobCounts.bind(queue));
      // Counting wrappers around the real reads (they still go to Redis).
      queues.forEach((queue, i) => {
        queue.getJobCounts = (...args: Parameters<typeof queue.getJobCounts>) => {
          countsCalls.push(Date.now());
          return originals[i]!(...args);
        };
      });
      db.on('query', listener);
      try {
        const started = Date.now();
        let scrapes = 0;
        // Waves of 20 concurrent scrapes for 2.5 s.
        while (Date.now() - started < 2500) {
          const wave = await Promise.all(Array.from({ length: 20 }, () => get(uvis.baseUrl, '/metrics')));
          for (const res of wave) expect(res.status).toBe(200);
          expect(wave[0]!.body).toMatch(/^uvis_queue_jobs\{/m);
          scrapes += wave.length;
        }
        const seconds = (Date.now() - started) / 1000;
        const most = Math.ceil(seconds) + 1;
        expect(scrapes).toBeGreaterThan(40);
        expect(backupsQueries.length).toBeGreaterThan(0);
        expect(backupsQueries.length, `${backupsQueries.length} backups reads for ${scrapes} scrapes in ${seconds} s`).toBeLessThanOrEqual(most);
        expect(countsCalls.length / queues.length, `${countsCalls.length} queue count reads for ${scrapes} scrapes`).toBeLessThanOrEqual(most);
      } finally {
        db.off('query', listener);
        queues.forEach((queue, i) => (queue.getJobCounts = originals[i]!));
      }
    });
  });

  describe('item 3: weak JWT_SECRET', () => {
    it('production refuses low-entropy secrets and padded defaults, and accepts random ones', () => {
      const weak = [
        'a'.repeat(32),
        '12345678901234567890123456789012',
        '1234567890'.repeat(5),
        '   uvis-development-secret-do-not-use-in-production   ',
        `  changeme${' '.repeat(30)}`,
        'abcdefghijklmnopqrstuvwxyzABCDEFGH',
        'password'.repeat(5),
      ];
      for (const secret of weak) {
        const problem = configProblems({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY, JWT_SECRET: secret, METRICS_TOKEN: 'a1b2c3d4e5f6a7b8c9d0' }).find((p) =>
          p.startsWith('JWT_SECRET'),
        );
        expect(problem, JSON.stringify(secret)).toMatch(/openssl rand -base64 48/);
      }
      expect(configProblems({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY, JWT_SECRET: STRONG, METRICS_TOKEN: 'a1b2c3d4e5f6a7b8c9d0' })).toEqual([]);
    });
  });

  describe('item 6: routes without sign-in are limited per address', () => {
    const routes: { name: string; call: (ip: string) => Promise<{ status: number; headers: Headers }> }[] = [
      { name: 'GET /api/v1/health', call: (ip) => get(uvis.baseUrl, '/api/v1/health', { 'x-forwarded-for': ip }) },
      { name: 'GET /api/v1/health/ready', call: (ip) => get(uvis.baseUrl, '/api/v1/health/ready', { 'x-forwarded-for': ip }) },
      { name: 'GET /metrics', call: (ip) => get(uvis.baseUrl, '/metrics', { 'x-forwarded-for': ip }) },
      {
        name: 'POST /api/v1/auth/refresh',
        call: async (ip) => {
          const res = await fetch(`${uvis.baseUrl}/api/v1/auth/refresh`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
            body: JSON.stringify({ refresh_token: 'not-a-real-token-but-long-enough-to-look-like-one' }),
          });
          await res.arrayBuffer();
          return { status: res.status, headers: res.headers };
        },
      },
    ];

    routes.forEach(({ name, call }, i) => {
      it(`${name}: the 6th call from one address gets 429 with Retry-After; another address is unaffected`, async () => {
        const address = `203.0.113.${10 + i}`;
        for (let n = 0; n < 5; n++) expect((await call(address)).status, `call ${n + 1}`).not.toBe(429);
        const refused = await call(address);
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(refused.headers.get('ratelimit')).toMatch(/"public"; r=0/);
        expect((await call(`198.51.100.${10 + i}`)).status).not.toBe(429);
      });
    });

    it('the machine itself (loopback: container health checks) is not limited', async () => {
      for (let n = 0; n < 8; n++) expect((await get(uvis.baseUrl, '/api/v1/health')).status).toBe(200);
    });

    it('production limits these routes by default', () => {
      const config = loadConfig({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY, JWT_SECRET: STRONG, METRICS_TOKEN: 'a1b2c3d4e5f6a7b8c9d0' });
      expect(config.rateLimits.publicPerAddress).toBeLessThanOrEqual(1000);
    });
  });

  describe('item 8: slow clients are cut off', () => {
    it('a body dribbled a byte every 100 ms is cut off (408) within REQUEST_TIMEOUT_MS, not after 300 s', async () => {
      const head =
        'POST /api/v1/auth/refresh HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Forwarded-For: 192.0.2.50\r\n\r\n';
      const result = await dribble(uvis.running.port!, head, '{"refresh_token":"' + 'x'.repeat(900), 8000);
      expect(result.closedAfterMs, 'the socket is still open after 8 s').toBeDefined();
      // 2 s bound plus Node's check interval (a quarter of the shorter bound) and slack.
      expect(result.closedAfterMs!).toBeLessThan(4000);
      expect(result.answer).toMatch(/^HTTP\/1\.1 408/);
    });

    it('headers dribbled a byte at a time are cut off within HEADERS_TIMEOUT_MS', async () => {
      const result = await dribble(uvis.running.port!, 'GET /api/v1/health HTTP/1.1\r\n', 'X-Slow: ' + 'y'.repeat(200), 8000);
      expect(result.closedAfterMs, 'the socket is still open after 8 s').toBeDefined();
      expect(result.closedAfterMs!).toBeLessThan(3000);
    });

    it('a keep-alive connection idle for longer than HEADERS_TIMEOUT_MS still serves its next request (load balancers reuse them)', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const call = () =>
        new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
          const req = httpRequest(`${uvis.baseUrl}/api/v1/health`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
          });
          req.on('error', reject);
          req.end();
        });
      try {
        expect(await call()).toEqual({ status: 200, reused: false });
        // Idle past the 1 s headers bound and several of Node's checks (keepAliveTimeout is 65 s).
        const until = Date.now() + 2500;
        while (Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        expect(await call()).toEqual({ status: 200, reused: true });
      } finally {
        agent.destroy();
      }
    });

    it("the worker's metrics server cuts off slow clients too", async () => {
      const result = await dribble(worker.running.metricsPort!, 'GET /metrics HTTP/1.1\r\n', 'X-Slow: ' + 'y'.repeat(200), 8000);
      expect(result.closedAfterMs, 'the socket is still open after 8 s').toBeDefined();
      expect(result.closedAfterMs!).toBeLessThan(3000);
    });

    it("the dashboard's event stream outlives REQUEST_TIMEOUT_MS (it bounds receiving the request, not the answer)", async () => {
      const token = await uvis.api.login(DEMO_ADMIN);
      const events: string[] = [];
      let ended = false;
      const req = httpRequest(
        `${uvis.baseUrl}/api/v1/dashboard/events`,
        { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } },
        (res) => {
          expect(res.statusCode).toBe(200);
          res.on('data', (chunk: Buffer) => events.push(chunk.toString('utf8')));
          res.on('end', () => (ended = true));
          res.on('close', () => (ended = true));
        },
      );
      req.on('error', () => (ended = true));
      req.end();
      try {
        const deadline = Date.now() + 5000;
        while (!events.join('').includes('event: hello') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(events.join('')).toContain('event: hello');
        // Past the 2 s request bound and two of Node's checks (every 500 ms here): still open.
        const until = Date.now() + 3500;
        while (!ended && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        expect(ended, 'the stream was closed by the request timeout').toBe(false);
      } finally {
        req.destroy();
      }
    });
  });

  describe('item 9d: the API reference can be switched off', () => {
    it('is served by default outside production', async () => {
      expect((await get(uvis.baseUrl, '/api/v1/openapi.json')).status).toBe(200);
      expect((await get(uvis.baseUrl, '/docs/')).status).toBe(200);
    });

    it('API_DOCS=off: /docs and /api/v1/openapi.json answer 404', async () => {
      const off = await startTestUvis({ role: 'api', env: { API_DOCS: 'off' } });
      try {
        for (const path of ['/api/v1/openapi.json', '/docs/', '/docs', '/docs/swagger-ui.css']) {
          expect((await get(off.baseUrl, path)).status, path).toBe(404);
        }
      } finally {
        await off.stop();
      }
    });

    it('is off by default in production', () => {
      const production = loadConfig({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY, JWT_SECRET: STRONG, METRICS_TOKEN: 'a1b2c3d4e5f6a7b8c9d0' });
      expect(production.apiDocs).toBe(false);
      expect(
        loadConfig({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY, JWT_SECRET: STRONG, METRICS_TOKEN: 'a1b2c3d4e5f6a7b8c9d0', API_DOCS: 'on' }).apiDocs,
      ).toBe(true);
      expect(loadConfig({}).apiDocs).toBe(true);
    });
  });
});
