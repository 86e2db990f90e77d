/** Sign-in (form and JSON), refresh rotation with reuse detection, logout, deactivation. */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { createDriverAccount } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
});

describe('authentication', () => {
  it('accepts the seed form body and JSON with username or email', async () => {
    const form = await uvis.api.request('POST', '/api/v1/auth/login', { form: { username: 'test@example.com', password: 'testpass' } });
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(form.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(form.headers.get('cache-control')).toBe('no-store');
    expect((await uvis.api.post('/api/v1/auth/login', { username: 'TEST@example.com', password: 'testpass' })).status).toBe(200);
    expect((await uvis.api.post('/api/v1/auth/login', { email: 'test@example.com', password: 'testpass' })).status).toBe(200);
  });

  it('refuses a wrong password and an unknown account alike', async () => {
    const wrong = await uvis.api.post('/api/v1/auth/login', { username: 'test@example.com', password: 'nope' });
    const unknown = await uvis.api.post('/api/v1/auth/login', { username: 'ghost@example.com', password: 'nope' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error).toEqual(unknown.body.error);
    expect((await uvis.api.post('/api/v1/auth/login', { username: 'test@example.com' })).status).toBe(400);
  });

  it('rotates refresh tokens, and a reused one revokes the whole session', async () => {
    const login = (await uvis.api.post('/api/v1/auth/login', { username: DEMO_DISPATCHER.email, password: DEMO_DISPATCHER.password })).body;
    const refreshed = await uvis.api.post('/api/v1/auth/refresh', { refresh_token: login.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(login.refresh_token);
    expect((await uvis.api.get('/api/v1/orders?limit=1', refreshed.body.access_token)).status).toBe(200);
    // The old refresh token again: theft assumed, the session ends for everyone holding it.
    const reused = await uvis.api.post('/api/v1/auth/refresh', { refresh_token: login.refresh_token });
    expect(reused.status).toBe(401);
    expect(reused.body.error.code).toBe('refresh_token_reused');
    expect((await uvis.api.get('/api/v1/orders?limit=1', refreshed.body.access_token)).status).toBe(401);
    expect((await uvis.api.post('/api/v1/auth/refresh', { refresh_token: refreshed.body.refresh_token })).status).toBe(401);
  });

  it('logout revokes the access token and the refresh token at once', async () => {
    const login = (await uvis.api.post('/api/v1/auth/login', { username: DEMO_DISPATCHER.email, password: DEMO_DISPATCHER.password })).body;
    expect((await uvis.api.get('/api/v1/orders?limit=1', login.access_token)).status).toBe(200);
    expect((await uvis.api.post('/api/v1/auth/logout', undefined, login.access_token)).status).toBe(204);
    const after = await uvis.api.get('/api/v1/orders?limit=1', login.access_token);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('session_revoked');
    expect((await uvis.api.post('/api/v1/auth/refresh', { refresh_token: login.refresh_token })).status).toBe(401);
  });

  it('a deactivated user is refused at once, not when the token expires', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    expect((await uvis.api.get('/api/v1/mobile/summary', driver.token)).status).toBe(200);
    expect((await uvis.api.post(`/api/v1/users/${driver.userId}/deactivate`, undefined, admin)).status).toBe(200);
    expect((await uvis.api.get('/api/v1/mobile/summary', driver.token)).status).toBe(401);
    // The right password answers like a wrong one: nothing tells a guesser the account exists.
    const relogin = await uvis.api.post('/api/v1/auth/login', { username: driver.email, password: driver.password });
    expect(relogin.status).toBe(401);
    expect(relogin.body.error.code).toBe('invalid_credentials');
    expect((await uvis.api.post(`/api/v1/users/${driver.userId}/activate`, undefined, admin)).status).toBe(200);
    // Reactivation does not revive old sessions: the account signs in again.
    expect((await uvis.api.get('/api/v1/mobile/summary', driver.token)).status).toBe(401);
    const fresh = await uvis.api.login({ email: driver.email, password: driver.password });
    expect((await uvis.api.get('/api/v1/mobile/summary', fresh)).status).toBe(200);
  });

  it('a new password ends every session of the account, refresh tokens included', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const login = (await uvis.api.post('/api/v1/auth/login', { username: driver.email, password: driver.password })).body;
    expect((await uvis.api.request('PATCH', `/api/v1/users/${driver.userId}`, { json: { password: 'a-brand-new-password' }, token: admin })).status).toBe(200);
    expect((await uvis.api.get('/api/v1/mobile/summary', driver.token)).status).toBe(401);
    expect((await uvis.api.post('/api/v1/auth/refresh', { refresh_token: login.refresh_token })).status).toBe(401);
    expect((await uvis.api.post('/api/v1/auth/login', { username: driver.email, password: 'a-brand-new-password' })).status).toBe(200);
  });

  it('never returns password hashes', async () => {
    const users = await uvis.api.get('/api/v1/users', admin);
    expect(users.status).toBe(200);
    expect(users.text).not.toContain('argon2');
    expect(users.text).not.toContain('password');
  });
});

describe('sign-out and deactivation seen by another API replica', () => {
  // Far below the principal cache's time to live (30 s): a refusal within this deadline
  // comes from the eviction announced over Redis, not from the cache entry expiring.
  const PROMPTLY = { timeoutMs: 5000, intervalMs: 50 };
  let replica: TestUvis;
  beforeAll(async () => {
    // A second API process of the same deployment: same database, same Redis prefix.
    replica = await startTestUvis({ role: 'api', database: uvis.database, prefix: uvis.config.redisPrefix });
  });
  afterAll(async () => {
    await replica?.stop({ keepData: true });
  });

  const signIn = async (account: { email: string; password: string }) =>
    (await uvis.api.post('/api/v1/auth/login', { username: account.email, password: account.password })).body as {
      access_token: string;
      refresh_token: string;
    };

  it('the replica keeps a session in its cache: a revocation nobody announces is not seen at once (the control)', async () => {
    const login = await signIn(DEMO_DISPATCHER);
    expect((await replica.api.get('/api/v1/orders?limit=1', login.access_token)).status).toBe(200);
    // Revoked behind the API's back: no announcement, so the replica still trusts its cache.
    const { sid } = decodeJwt(login.access_token) as { sid: string };
    const revoked = await uvis.running.deps.db('sessions').where({ id: sid }).update({ revoked_at: uvis.running.deps.db.fn.now() });
    expect(revoked).toBe(1);
    expect((await replica.api.get('/api/v1/orders?limit=1', login.access_token)).status).toBe(200);
  });

  it('a sign-out on one replica is refused by the other promptly', async () => {
    const login = await signIn(DEMO_DISPATCHER);
    // The replica has validated (and cached) the session.
    expect((await replica.api.get('/api/v1/orders?limit=1', login.access_token)).status).toBe(200);
    expect((await uvis.api.post('/api/v1/auth/logout', undefined, login.access_token)).status).toBe(204);
    const refused = await waitFor(
      async () => {
        const res = await replica.api.get('/api/v1/orders?limit=1', login.access_token);
        return res.status === 401 ? res : undefined;
      },
      { ...PROMPTLY, what: 'the replica to refuse the signed-out token' },
    );
    expect(refused.body.error.code).toBe('session_revoked');
    // And it stays refused; the refresh token is dead on the replica too.
    expect((await replica.api.get('/api/v1/orders?limit=1', login.access_token)).status).toBe(401);
    expect((await replica.api.post('/api/v1/auth/refresh', { refresh_token: login.refresh_token })).status).toBe(401);
  });

  it('a deactivation on one replica is refused by the other promptly, for every session of the user', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    const second = await signIn(driver);
    for (const token of [driver.token, second.access_token]) expect((await replica.api.get('/api/v1/mobile/summary', token)).status).toBe(200);
    expect((await uvis.api.post(`/api/v1/users/${driver.userId}/deactivate`, undefined, admin)).status).toBe(200);
    for (const token of [driver.token, second.access_token]) {
      await waitFor(async () => (await replica.api.get('/api/v1/mobile/summary', token)).status === 401, {
        ...PROMPTLY,
        what: 'the replica to refuse a deactivated user',
      });
    }
  });
});
