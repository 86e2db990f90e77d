/** Request and job logs: one JSON line each, with ids, and never a credential. */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestLogging } from '../../api/middleware/request-logging.js';
import { createLogger } from '../../lib/logger.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { CookieBrowser } from '../helpers/browser.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
});
afterAll(async () => {
  await uvis?.stop();
});

const requestLines = () => uvis.logs.filter((l) => (l.req as { id?: string } | undefined)?.id);

describe('logs', () => {
  it('writes one line per request with request id, route, status and duration, keeping and echoing X-Request-Id', async () => {
    const token = await uvis.api.login(DEMO_DISPATCHER);
    const res = await uvis.api.request('GET', '/api/v1/orders/2', { token, headers: { 'X-Request-Id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    const lines = requestLines().filter((l) => (l.req as { id: string }).id === 'trace-abc-123');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ route: '/api/v1/orders/:id', res: { statusCode: 200 }, level: 'info', service: 'uvis' });
    expect(typeof lines[0]!.durationMs).toBe('number');
    // Without one, an id is made and returned.
    const fresh = await uvis.api.get('/api/v1/health');
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // A malformed id is replaced, not logged as given.
    const weird = await uvis.api.request('GET', '/api/v1/health', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(weird.headers.get('x-request-id')).not.toBe('bad id with spaces');
  });

  it('gives what a request logs (an error, say) the same req.id as its request line', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }) });
    const app = express();
    app.use(requestLogging(log));
    app.get('/boom', (req, res) => {
      req.log.error({ err: new Error('boom') }, 'unhandled error');
      res.status(500).end();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/boom`, { headers: { 'X-Request-Id': 'trace-err-1' } });
      await waitFor(async () => lines.length >= 2 || undefined, { what: 'both lines' });
    } finally {
      server.close();
    }
    const ids = lines.map((l) => (l.req as { id?: string } | undefined)?.id);
    expect(ids).toEqual(['trace-err-1', 'trace-err-1']);
    expect(lines.map((l) => l.msg)).toEqual(['unhandled error', 'GET /boom 500']);
  });

  it('logs each job with queue, job id and attempt', async () => {
    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const order = await uvis.api.post(
      '/api/v1/orders',
      { client_id: 1, pickup_address: '서울시 송파구', delivery_address: '경기도 용인시', cargo_type: '냉장', weight: 3 },
      dispatcher,
    );
    const line = await waitFor(async () => uvis.logs.find((l) => l.queue === 'orders' && l.msg === 'job completed' && typeof l.jobId === 'string'), {
      what: 'job log',
    });
    expect(line).toMatchObject({ queue: 'orders', jobName: 'order.changed', attempt: 1 });
    expect(String(line.jobId)).toMatch(/^ob-[0-9a-f-]{36}$/);
    expect(order.status).toBe(201);
  });

  it('never writes authorization headers, cookies, passwords or tokens', async () => {
    const login = await uvis.api.post('/api/v1/auth/login', { username: DEMO_DISPATCHER.email, password: DEMO_DISPATCHER.password });
    const { access_token: token, refresh_token: refresh } = login.body;
    await uvis.api.get('/api/v1/orders?limit=1', token);
    await uvis.api.request('GET', '/api/v1/orders?limit=1', { headers: { authorization: `Bearer ${token}x` } });
    await uvis.api.post('/api/v1/auth/refresh', { refresh_token: refresh });
    await uvis.api.post('/api/v1/auth/login', { username: DEMO_DISPATCHER.email, password: 'a-wrong-password-123' });
    const browser = new CookieBrowser(uvis.baseUrl);
    await browser.signIn(DEMO_DISPATCHER.email, DEMO_DISPATCHER.password);
    await browser.request('GET', '/admin/queues/api/queues');
    const everything = uvis.logs.map((l) => JSON.stringify(l)).join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of [token, refresh, DEMO_DISPATCHER.password, 'a-wrong-password-123', browser.cookies.get('uvis_session')!, 'Bearer ']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('redacts credentials even when code logs them by mistake', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    log.info(
      { password: 'p1', user: { password: 'p2', token: 't1' }, headers: { authorization: 'Bearer abc' }, body: { refresh_token: 'r1', access_token: 'a1' } },
      'oops',
    );
    const line = lines.join('');
    for (const secret of ['p1', 'p2', 't1', 'Bearer abc', 'r1', 'a1']) expect(line).not.toContain(`"${secret}"`);
    expect(line).toContain('[redacted]');
  });
});
