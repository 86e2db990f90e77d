/**
 * Part of the security battery (issue 14): identity. Sign-in identifiers normalised
 * once (a Unicode variant of an address shares its lockout budget), disabled accounts
 * indistinguishable from a wrong password, inactive driver profiles refused on driver
 * routes, API tokens and browser-session cookies not interchangeable, the live stream
 * bounded by its session, and no refresh of an expired session. Each row asserts the
 * status and, where the request could write, that the database did not change.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeSignInIdentifier } from '../../domain/sign-in-identifier.js';
import { SseParser } from '../../dashboard/web/src/sse-parser.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { CookieBrowser } from '../helpers/browser.js';
import { createDriverAccount } from '../helpers/fixtures.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

/** Failed sign-ins an account may have before it is locked, in this file. */
const ACCOUNT_LIMIT = 3;

let uvis: TestUvis;
let admin: string;

beforeAll(async () => {
  uvis = await startTestUvis({
    role: 'api',
    env: {
      RATE_LIMIT_LOGIN_ACCOUNT_FAILURES: String(ACCOUNT_LIMIT),
      RATE_LIMIT_LOGIN_IP_FAILURES: '10000',
      LOGIN_SLOWDOWN_AFTER: '1000',
    },
  });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
});

const db = () => uvis.running.deps.db;
const login = (username: string, password: string) => uvis.api.post('/api/v1/auth/login', { username, password });
const PASSWORD = 'a-long-enough-password';

/** A dispatcher account of its own (each lockout row needs a fresh budget); its address has an 'i' and a 'k'. */
async function freshAccount(): Promise<string> {
  const email = `kiki-${randomBytes(4).toString('hex')}@example.com`;
  const res = await uvis.api.post('/api/v1/users', { email, password: PASSWORD, role: 'dispatcher' }, admin);
  expect(res.status, res.text).toBe(201);
  return email;
}

const fullwidth = (s: string) => s.replace(/[a-z0-9]/g, (c) => String.fromCodePoint(c.codePointAt(0)! - 0x21 + 0xff01));

/** Spellings of one address: [name, variant of the address, what the variant answers with the right password]. */
const VARIANTS: [name: string, variant: (email: string) => string, rightPasswordStatus: number][] = [
  // 'İ' lowercases to 'i' + U+0307 in JavaScript: not an ASCII address, refused, yet it counts against 'i'.
  ['capital dotted I (U+0130)', (e) => e.replace(/i/g, 'İ'), 401],
  ['i with a combining dot above (U+0307)', (e) => e.replace(/i/g, 'i\u0307'), 401],
  // NFKC turns these into the plain letters: the same account, so the same budget.
  ['fullwidth letters', (e) => fullwidth(e), 200],
  ['KELVIN SIGN (U+212A) for k', (e) => e.replace(/k/g, '\u212a'), 200],
  ['upper case', (e) => e.toUpperCase(), 200],
  ['surrounding spaces', (e) => `  ${e}  `, 200],
];

describe('one lockout budget per address, whatever its spelling (item 1)', () => {
  it.each(VARIANTS)('%s: failures with the variant lock the plain address, and change nothing', async (_name, variant) => {
    const email = await freshAccount();
    const before = await databaseFingerprint(db());
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      const wrong = await login(variant(email), `wrong-${i}`);
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('invalid_credentials');
    }
    const locked = await login(email, PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('account_locked');
    expect(await databaseFingerprint(db())).toEqual(before);
  });

  it.each(VARIANTS)('%s with the right password: the answer the rule gives', async (_name, variant, status) => {
    const email = await freshAccount();
    const res = await login(variant(email), PASSWORD);
    expect(res.status).toBe(status);
    if (status === 401) expect(res.body.error).toEqual((await login(email, 'wrong-password')).body.error);
  });

  it('failures with the plain address lock every variant too (the browser sign-in form included)', async () => {
    const email = await freshAccount();
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expect((await login(email, `wrong-${i}`)).status).toBe(401);
    for (const [, variant] of VARIANTS) expect((await login(variant(email), PASSWORD)).body.error.code).toBe('account_locked');
    const form = await new CookieBrowser(uvis.baseUrl).signIn(email.replace(/i/g, 'İ'), PASSWORD);
    expect(form.status).toBe(429);
  });

  it('the browser sign-in form shares the budget: İ failures there lock the API sign-in', async () => {
    const email = await freshAccount();
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      expect((await new CookieBrowser(uvis.baseUrl).signIn(email.replace(/i/g, 'İ'), `wrong-${i}`)).status).toBe(401);
    }
    expect((await login(email, PASSWORD)).body.error.code).toBe('account_locked');
  });

  it('stores emails in the normalised form, so sign-in matches them exactly', async () => {
    const email = `Mixed.Case-${randomBytes(3).toString('hex')}@Example.COM`;
    const created = await uvis.api.post('/api/v1/users', { email, password: PASSWORD, role: 'dispatcher' }, admin);
    expect(created.status, created.text).toBe(201);
    expect(created.body.email).toBe(email.toLowerCase());
    expect(await db()('users').where({ id: created.body.id }).first('email')).toEqual({ email: email.toLowerCase() });
    expect((await login(email, PASSWORD)).status).toBe(200);
  });

  it('the database refuses an email outside the normalised form (constraint users_email_normalized)', async () => {
    const row = { password_hash: 'x', role: 'dispatcher' };
    for (const email of ['Upper@example.com', 'kİki@example.com', 'with space@example.com']) {
      await expect(db()('users').insert({ ...row, email })).rejects.toThrow(/users_email_normalized/);
    }
  });

  it('the rule itself: acceptable identifiers are ASCII after NFKC, look-alikes keep the key they imitate', () => {
    expect(normalizeSignInIdentifier(' ＴＥＳＴ@example.com ')).toEqual({ email: 'test@example.com', acceptable: true, counterKey: 'test@example.com' });
    expect(normalizeSignInIdentifier('\u212aim@example.com').email).toBe('kim@example.com');
    const dotted = normalizeSignInIdentifier('tİm@example.com');
    expect(dotted.acceptable).toBe(false);
    expect(dotted.counterKey).toBe('tim@example.com');
    expect(normalizeSignInIdentifier('kim\u200b@example.com').acceptable).toBe(false);
  });
});

describe('a disabled account answers like a wrong password (item 5)', () => {
  it('401 invalid_credentials with the right password, the same body as a wrong one, counted toward the lockout', async () => {
    const email = await freshAccount();
    const { id } = await db()('users').where({ email }).first('id');
    expect((await uvis.api.post(`/api/v1/users/${id}/deactivate`, undefined, admin)).status).toBe(200);
    const before = await databaseFingerprint(db());
    const right = await login(email, PASSWORD);
    expect(right.status).toBe(401);
    expect(right.body.error).toEqual((await login(email, 'wrong-password')).body.error);
    expect((await login(email, PASSWORD)).status).toBe(401);
    // Three refusals so far, two of them with the right password: the account is now locked.
    const locked = await login(email, PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('account_locked');
    expect(await databaseFingerprint(db())).toEqual(before);
  });
});

describe('an inactive driver profile cannot use the driver routes (item 5)', () => {
  const DRIVER_ROUTES: [name: string, method: string, path: string, body?: unknown][] = [
    ['own dispatches', 'GET', '/api/v1/mobile/dispatches'],
    ['today summary', 'GET', '/api/v1/mobile/summary'],
    ['one GPS point', 'POST', '/api/v1/mobile/location', { latitude: 37.5, longitude: 127.0 }],
    ['a GPS batch', 'POST', '/api/v1/mobile/locations', { points: [{ latitude: 37.5, longitude: 127.0, recorded_at: new Date().toISOString() }] }],
  ];
  let driver: Awaited<ReturnType<typeof createDriverAccount>>;
  beforeAll(async () => {
    driver = await createDriverAccount(uvis.api, admin);
    // Warm the session cache: the refusal below must come from the eviction, not a cold read.
    expect((await uvis.api.get('/api/v1/mobile/summary', driver.token)).status).toBe(200);
    expect((await uvis.api.post(`/api/v1/drivers/${driver.driverId}/deactivate`, undefined, admin)).status).toBe(200);
  });

  it.each(DRIVER_ROUTES)('%s: 403 driver_inactive at once, nothing stored or queued', async (_name, method, path, body) => {
    const before = await databaseFingerprint(db());
    const waiting = await uvis.running.deps.queues.locations.count();
    const res = await uvis.api.request(method, path, { token: driver.token, json: body });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('driver_inactive');
    expect(await databaseFingerprint(db())).toEqual(before);
    expect(await uvis.running.deps.queues.locations.count()).toBe(waiting);
  });

  it('a fresh sign-in is refused the same way; reactivating the profile lets the same token through again', async () => {
    const fresh = await uvis.api.login({ email: driver.email, password: driver.password });
    expect((await uvis.api.get('/api/v1/mobile/summary', fresh)).body.error.code).toBe('driver_inactive');
    expect((await uvis.api.post(`/api/v1/drivers/${driver.driverId}/activate`, undefined, admin)).status).toBe(200);
    expect((await uvis.api.get('/api/v1/mobile/summary', driver.token)).status).toBe(200);
    expect((await uvis.api.post(`/api/v1/drivers/${driver.driverId}/deactivate`, undefined, admin)).status).toBe(200);
    expect((await uvis.api.get('/api/v1/mobile/summary', fresh)).status).toBe(403);
  });
});

describe('API tokens and browser-session cookies are not interchangeable (item 4)', () => {
  async function browserSessionToken(): Promise<string> {
    const browser = new CookieBrowser(uvis.baseUrl);
    expect((await browser.signIn(DEMO_DISPATCHER.email, DEMO_DISPATCHER.password)).status).toBe(303);
    return browser.cookies.get('uvis_session')!;
  }

  it('the cookie token as a bearer token: 401 on every API route, nothing changed', async () => {
    const cookieToken = await browserSessionToken();
    const before = await databaseFingerprint(db());
    for (const [method, path, json] of [
      ['GET', '/api/v1/orders?limit=1'],
      ['GET', '/api/v1/dashboard/session'],
      [
        'POST',
        '/api/v1/orders',
        { client_id: 1, pickup_address: '서울시 강남구 테헤란로 1', delivery_address: '부산시 해운대구 1', cargo_type: '냉장', weight_kg: 10 },
      ],
    ] as const) {
      const res = await uvis.api.request(method, path, { token: cookieToken, json });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('invalid_token');
    }
    expect(await databaseFingerprint(db())).toEqual(before);
  });

  it('an API access token as the session cookie: refused by the operator pages', async () => {
    const apiToken = await uvis.api.login();
    const browser = new CookieBrowser(uvis.baseUrl);
    browser.cookies.set('uvis_session', apiToken);
    expect((await browser.request('GET', '/admin/queues/api/queues')).status).toBe(401);
    const page = await browser.request('GET', '/admin/queues');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/admin\/login/);
  });

  it('the two kinds carry different audiences and lifetimes', async () => {
    const api = decodeJwt(await uvis.api.login());
    const cookie = decodeJwt(await browserSessionToken());
    expect(api.aud).toBe('uvis-api');
    expect(cookie.aud).toBe('uvis-browser');
    expect(api.exp! - api.iat!).toBe(uvis.config.accessTokenTtlSeconds);
    expect(cookie.exp! - cookie.iat!).toBe(uvis.config.browserSessionTtlSeconds);
  });

  it('a live stream ends when its session ends, even while its access token is still valid', async () => {
    const { access_token } = (await login(DEMO_DISPATCHER.email, DEMO_DISPATCHER.password)).body;
    const { sid } = decodeJwt(access_token) as { sid: string };
    // The session ends in two seconds; the token (15 minutes) would keep the stream open far longer.
    await db()('sessions')
      .where({ id: sid })
      .update({ expires_at: db().raw(`now() + interval '2 seconds'`) });
    const controller = new AbortController();
    const res = await fetch(`${uvis.baseUrl}/api/v1/dashboard/events`, { headers: { authorization: `Bearer ${access_token}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    const events: { event: string; data: string }[] = [];
    const reading = (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of parser.push(value)) events.push({ event: e.event, data: e.data });
        }
      } catch {
        // aborted below
      }
    })();
    try {
      // Well under the heartbeat recheck (15 s) plus the session cache (30 s): only the bound ends it this soon.
      const bye = await waitFor(async () => events.find((e) => e.event === 'bye'), { what: 'the stream to end', timeoutMs: 8000 });
      expect(JSON.parse(bye.data).reason).toBe('token_expired');
    } finally {
      controller.abort();
      await reading;
    }
  });
});

describe('refresh of an expired session (item 9a)', () => {
  it('401 invalid_refresh_token, although the refresh token itself has not expired; nothing changed', async () => {
    const { access_token, refresh_token } = (await login(DEMO_DISPATCHER.email, DEMO_DISPATCHER.password)).body;
    const { sid } = decodeJwt(access_token) as { sid: string };
    await db()('sessions')
      .where({ id: sid })
      .update({ expires_at: db().raw(`now() - interval '1 second'`) });
    const before = await databaseFingerprint(db());
    const res = await uvis.api.post('/api/v1/auth/refresh', { refresh_token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_refresh_token');
    expect(await databaseFingerprint(db())).toEqual(before);
  });

  it('a rotated refresh token never outlives its session', async () => {
    const { access_token, refresh_token } = (await login(DEMO_DISPATCHER.email, DEMO_DISPATCHER.password)).body;
    const { sid } = decodeJwt(access_token) as { sid: string };
    const rotated = await uvis.api.post('/api/v1/auth/refresh', { refresh_token });
    expect(rotated.status).toBe(200);
    const session = await db()('sessions').where({ id: sid }).first('expires_at');
    const tokens = await db()('refresh_tokens').where({ session_id: sid }).pluck('expires_at');
    expect(tokens).toHaveLength(2);
    for (const expiresAt of tokens) expect(new Date(expiresAt).getTime()).toBeLessThanOrEqual(new Date(session.expires_at).getTime());
  });
});
