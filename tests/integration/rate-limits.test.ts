/** Rate limits in Redis: per user, a separate higher one for GPS posts, and failed-sign-in lockout. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, DEMO_DRIVER2, DEMO_DRIVER3 } from '../helpers/api-client.js';
import { CookieBrowser } from '../helpers/browser.js';
import { createDriverAccount } from '../helpers/fixtures.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { deleteRedisPrefix, newPrefix, startTestUvis, type TestUvis } from '../helpers/uvis.js';

// Each test gets its own pair of API replicas on its own Redis prefix (one database for
// the file): no test sees counters another left behind, so any one runs alone (-t).
const ENV = {
  RATE_LIMIT_GENERAL: '5',
  RATE_LIMIT_LOCATION: '8',
  RATE_LIMIT_LOGIN_ACCOUNT_FAILURES: '3',
  RATE_LIMIT_LOGIN_IP_FAILURES: '6',
  LOGIN_SLOWDOWN_AFTER: '1',
  LOGIN_SLOWDOWN_STEP_MS: '150',
};
let database: TestDatabase;
let uvis: TestUvis;
let replica: TestUvis;
/** What the current test started, stopped after it. */
let started: TestUvis[] = [];

async function startReplicas(env: Record<string, string> = {}) {
  const prefix = newPrefix();
  uvis = await startTestUvis({ role: 'api', database, prefix, env: { ...ENV, ...env } });
  started.push(uvis);
  // A second API replica of the same deployment: limits must hold across both.
  replica = await startTestUvis({ role: 'api', database, prefix, env: { ...ENV, ...env } });
  started.push(replica);
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  const stopping = started.reverse();
  started = [];
  for (const instance of stopping) await instance.stop({ keepData: true });
  for (const prefix of new Set(stopping.map((i) => i.config.redisPrefix))) await deleteRedisPrefix(prefix);
});
afterAll(async () => {
  await database?.drop();
});

describe('rate limits', () => {
  it('limits each user across replicas, answering 429 with Retry-After and RateLimit headers', async () => {
    await startReplicas();
    const token = await uvis.api.login(DEMO_DISPATCHER);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await (i % 2 ? replica : uvis).api.get('/api/v1/orders?limit=1', token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await uvis.api.get('/api/v1/orders?limit=1', token);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/"general"; r=0; t=\d+/);
    expect(limited.headers.get('ratelimit-policy')).toMatch(/"general"; q=5; w=60/);
    // Another user is not affected.
    const other = await uvis.api.login();
    expect((await uvis.api.get('/api/v1/orders?limit=1', other)).status).toBe(200);
  });

  it('has a separate, higher limit for GPS posts', async () => {
    await startReplicas();
    const token = await uvis.api.login(DEMO_DRIVER2);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++)
      statuses.push((await (i % 2 ? replica : uvis).api.post('/api/v1/mobile/location', { latitude: 37, longitude: 127 }, token)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 202, 202, 429]);
    // The general limit of the same user is counted apart.
    expect((await uvis.api.get('/api/v1/mobile/summary', token)).status).toBe(200);
  });

  it('slows failed sign-ins down, then locks the account while other users still sign in from the same address', async () => {
    // A step long enough that an unslowed answer (one password check) never takes it:
    // the slowdown is a wait of at least that long, so the lower bounds below are exact.
    const step = 1000;
    await startReplicas({ LOGIN_SLOWDOWN_STEP_MS: String(step) });
    const attempt = (password: string) => uvis.api.post('/api/v1/auth/login', { username: DEMO_DRIVER3.email, password });
    const before = await databaseFingerprint(uvis.running.deps.db);
    expect((await attempt('wrong-1')).status).toBe(401);
    const second = Date.now();
    expect((await attempt('wrong-2')).status).toBe(401);
    expect(Date.now() - second).toBeGreaterThanOrEqual(step);
    const third = Date.now();
    expect((await attempt('wrong-3')).status).toBe(401);
    expect(Date.now() - third).toBeGreaterThanOrEqual(2 * step);
    const locked = await attempt(DEMO_DRIVER3.password);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('account_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(60);
    // The lock holds on the other replica too.
    expect((await replica.api.post('/api/v1/auth/login', { username: DEMO_DRIVER3.email, password: DEMO_DRIVER3.password })).body.error.code).toBe(
      'account_locked',
    );
    // The operator sign-in form says so on its own page (Korean first), not as an API error body.
    const form = await new CookieBrowser(uvis.baseUrl).signIn(DEMO_DRIVER3.email, DEMO_DRIVER3.password);
    expect(form.status).toBe(429);
    expect(form.headers.get('content-type')).toContain('text/html');
    expect(form.text).toContain('로그인 실패가 반복되어 계정이 잠시 잠겼습니다');
    expect(Number(form.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
    // A fleet behind the same NAT address: successes do not count.
    for (let i = 0; i < 10; i++)
      expect((await uvis.api.post('/api/v1/auth/login', { username: DEMO_DRIVER2.email, password: DEMO_DRIVER2.password })).status).toBe(200);
  });

  it('refuses made-up API keys from one address past the sign-in failure limit, before any key is looked up; keys that work do not count', async () => {
    await startReplicas({ RATE_LIMIT_GENERAL: '100' });
    const admin = await uvis.api.login();
    const client = await uvis.api.post('/api/v1/clients', { name: `화주 ${Date.now()}` }, admin);
    const created = await uvis.api.post('/api/v1/admin/api-keys', { name: '연동', role: 'shipper', client_id: client.body.id }, admin);
    expect(created.status, created.text).toBe(201);
    const withKey = (api: typeof uvis.api, key: string) => api.request('GET', '/api/v1/orders?limit=1', { headers: { 'x-api-key': key } });
    // Ten requests with the real key (more than the limit of six): none counts.
    for (let i = 0; i < 10; i++) expect((await withKey(i % 2 ? replica.api : uvis.api, created.body.key)).status).toBe(200);
    // Six made-up keys, across both replicas: refused as unknown ...
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await withKey(i % 2 ? replica.api : uvis.api, `uvk_${'x'.repeat(40)}${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
    // ... and then the address is refused before a lookup, whatever key it sends, on both replicas.
    for (const api of [uvis.api, replica.api]) {
      const refused = await withKey(api, created.body.key);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect(refused.body.error.message).toContain('refused API keys');
    }
    // A signed-in user from the same address is not affected (no API key sent).
    expect((await uvis.api.get('/api/v1/orders?limit=1', admin)).status).toBe(200);
  });

  it('stops a brute force from one address across many accounts', async () => {
    await startReplicas();
    // Six failures from this address, each on another account (no account lock involved) ...
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await uvis.api.post('/api/v1/auth/login', { username: `nobody${i}@example.com`, password: 'guess' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
    // ... and the address is blocked, on both replicas, even for a correct password.
    for (const [api, username, password] of [
      [uvis.api, 'nobody9@example.com', 'guess'],
      [replica.api, DEMO_DRIVER2.email, DEMO_DRIVER2.password],
    ] as const) {
      const blocked = await api.post('/api/v1/auth/login', { username, password });
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('rate_limited');
    }
  });
});

describe('sign-in guard under parallel attempts', () => {
  it('once a key has failed, a parallel burst of guesses gets no more tries than the limit, and successes give theirs back', async () => {
    const guarded = await startTestUvis({
      role: 'api',
      env: { RATE_LIMIT_LOGIN_ACCOUNT_FAILURES: '5', RATE_LIMIT_LOGIN_IP_FAILURES: '1000', LOGIN_SLOWDOWN_AFTER: '100' },
    });
    try {
      const admin = await guarded.api.login();
      const [target, fleet] = [await createDriverAccount(guarded.api, admin), await createDriverAccount(guarded.api, admin)];
      const attempt = (email: string, password: string) => guarded.api.post('/api/v1/auth/login', { username: email, password });

      // One typo, then the correct password ten times: every success returns its reservation.
      expect((await attempt(fleet.email, 'typo')).status).toBe(401);
      for (let i = 0; i < 10; i++) expect((await attempt(fleet.email, fleet.password)).status).toBe(200);

      // One failure, then twenty guesses at once: four more fit under the limit of five.
      expect((await attempt(target.email, 'guess-0')).status).toBe(401);
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(target.email, `guess-${i + 1}`)));
      const statuses = burst.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(4);
      expect(statuses.filter((s) => s === 429)).toHaveLength(16);
      expect((await attempt(target.email, target.password)).body.error.code).toBe('account_locked');

      // A clean account gets no first wave either: twenty guesses at once, five checked.
      const fresh = await createDriverAccount(guarded.api, admin);
      const wave = (await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(fresh.email, `wave-${i}`)))).map((r) => r.status);
      expect(wave.filter((s) => s === 401)).toHaveLength(5);
      expect(wave.filter((s) => s === 429)).toHaveLength(15);
    } finally {
      await guarded.stop();
    }
  });

  it('does not slow down a crowd of correct sign-ins to one shared account (their reservations are not failures)', async () => {
    const guarded = await startTestUvis({
      role: 'api',
      env: { RATE_LIMIT_LOGIN_ACCOUNT_FAILURES: '50', LOGIN_SLOWDOWN_AFTER: '1', LOGIN_SLOWDOWN_STEP_MS: '2000' },
    });
    try {
      const started = Date.now();
      const crowd = await Promise.all(
        Array.from({ length: 20 }, () => guarded.api.post('/api/v1/auth/login', { username: DEMO_DRIVER2.email, password: DEMO_DRIVER2.password })),
      );
      expect(crowd.map((r) => r.status)).toEqual(Array(20).fill(200));
      // One slowed answer alone would take 2 s.
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await guarded.stop();
    }
  });

  it('caps sign-in attempts per address, so a parallel burst across many accounts is bounded too', async () => {
    const guarded = await startTestUvis({
      role: 'api',
      env: { RATE_LIMIT_LOGIN_IP_ATTEMPTS: '8', RATE_LIMIT_LOGIN_IP_FAILURES: '1000', LOGIN_SLOWDOWN_AFTER: '100' },
    });
    try {
      const burst = await Promise.all(
        Array.from({ length: 20 }, (_, i) => guarded.api.post('/api/v1/auth/login', { username: `nobody-${i}@example.com`, password: 'guess' })),
      );
      const statuses = burst.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(8);
      expect(statuses.filter((s) => s === 429)).toHaveLength(12);
      const refused = burst.find((r) => r.status === 429)!;
      expect(refused.body.error.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('ratelimit-policy')).toContain('login-attempts');
    } finally {
      await guarded.stop();
    }
  });
});

describe('RATE_LIMITS=off', () => {
  it('turns every limit off (for benchmarks)', async () => {
    const open = await startTestUvis({ role: 'api', env: { RATE_LIMITS: 'off', RATE_LIMIT_GENERAL: '1' } });
    try {
      const token = await open.api.login(DEMO_DISPATCHER);
      for (let i = 0; i < 5; i++) expect((await open.api.get('/api/v1/orders?limit=1', token)).status).toBe(200);
      expect((await open.api.get('/api/v1/orders?limit=1', token)).headers.get('ratelimit')).toBeNull();
    } finally {
      await open.stop();
    }
  });
});
