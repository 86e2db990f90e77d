/** Security headers on every kind of response, and CORS only for configured origins. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER } from '../helpers/api-client.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let token: string;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api', env: { CORS_ORIGINS: 'https://dispatch.example.com' } });
  token = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

describe('security headers', () => {
  it.each([
    ['success', 'GET', '/api/v1/orders', true, 200],
    ['validation error', 'GET', '/api/v1/orders?limit=0', true, 400],
    ['unauthenticated', 'GET', '/api/v1/orders', false, 401],
    ['unknown route', 'GET', '/nowhere', false, 404],
    ['unknown API route', 'POST', '/api/v1/nowhere', true, 404],
    ['wrong content type', 'POST', '/api/v1/orders', true, 415],
    ['health', 'GET', '/api/v1/health', false, 200],
    ['metrics', 'GET', '/metrics', false, 200],
    ['sign-in page', 'GET', '/admin/login', false, 200],
    ['operator page redirect', 'GET', '/admin/queues', false, 303],
  ] as const)('%s', async (_name, method, path, authed, status) => {
    const res = await fetch(`${uvis.baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(authed ? { authorization: `Bearer ${token}` } : {}), ...(method === 'POST' ? { 'content-type': 'text/plain' } : {}) },
      body: method === 'POST' ? 'x' : undefined,
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});

describe('CORS', () => {
  it('answers a configured origin and ignores any other', async () => {
    const preflight = (origin: string) =>
      fetch(`${uvis.baseUrl}/api/v1/orders`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const allowed = await preflight('https://dispatch.example.com');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dispatch.example.com');
    const denied = await preflight('https://evil.example.net');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${uvis.baseUrl}/api/v1/health`, { headers: { origin: 'https://evil.example.net' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    // A page on the allowed origin can read when to retry and which request it was.
    const read = await fetch(`${uvis.baseUrl}/api/v1/health`, { headers: { origin: 'https://dispatch.example.com' } });
    expect(read.headers.get('access-control-expose-headers')?.split(',')).toEqual([
      'Retry-After',
      'RateLimit',
      'RateLimit-Policy',
      'Idempotent-Replayed',
      'X-Request-Id',
    ]);
  });
});
