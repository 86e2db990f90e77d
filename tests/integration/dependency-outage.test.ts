/** 503 with a clear error, quickly, when PostgreSQL or Redis does not answer; recovery without a restart. */
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/api-client.js';
import { freePort, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { createTestDatabase } from '../helpers/databases.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('dependency outages', () => {
  it('Redis down: queue-bound requests get a quick 503, readiness says so, and it heals when Redis returns', async () => {
    const redis: PrivateRedis = await startPrivateRedis();
    const uvis: TestUvis = await startTestUvis({ role: 'api', env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' } });
    cleanups.push(
      () => redis.destroy(),
      () => uvis.stop(),
    );
    const token = await uvis.api.login();
    await redis.stop();
    const started = Date.now();
    const res = await uvis.api.post('/api/v1/mobile/location', { latitude: 37, longitude: 127 }, token);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'service_unavailable', details: { dependency: 'queue' } });
    expect(res.headers.get('retry-after')).toBe('5');
    const ready = await uvis.api.get('/api/v1/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ database: 'ok', redis: 'down' });
    // Reads that need only PostgreSQL keep working.
    expect((await uvis.api.get('/api/v1/mobile/dispatches', token)).status).toBe(200);
    // Sign-in does not run without its brute-force limits.
    const login = await uvis.api.post('/api/v1/auth/login', { username: 'test@example.com', password: 'testpass' });
    expect(login.status).toBe(503);
    await redis.start();
    await waitFor(async () => (await uvis.api.post('/api/v1/mobile/location', { latitude: 37, longitude: 127 }, token)).status === 202, {
      timeoutMs: 10_000,
      what: 'recovery',
    });
    expect((await uvis.api.get('/api/v1/health/ready')).status).toBe(200);
  });

  it('PostgreSQL unreachable: 503 with a clear error instead of a hang', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const unreachable = { ...database, url: database.url.replace(/:\d+\//, `:${port}/`) };
    const uvis = await startTestUvis({ role: 'api', database: unreachable });
    cleanups.push(
      () => uvis.stop({ keepData: true }),
      () => database.drop(),
    );
    const started = Date.now();
    const res = await uvis.api.post('/api/v1/auth/login', { username: 'test@example.com', password: 'testpass' });
    expect(Date.now() - started).toBeLessThan(6000);
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'service_unavailable', details: { dependency: 'database' } });
    expect(res.text).not.toContain('ECONNREFUSED');
    const ready = await uvis.api.get('/api/v1/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database).toBe('down');
  });
});
