/** Bull Board at /admin/queues: browser sign-in, CSRF on actions, admins act, dispatchers look, others are refused. */
import { QUEUE_NAMES, dispatcherMaySee } from '../../jobs/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN, DEMO_DISPATCHER, DEMO_DRIVER2, waitFor } from '../helpers/api-client.js';
import { CookieBrowser } from '../helpers/browser.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
});
afterAll(async () => {
  await uvis?.stop();
});

/** A dispatch event that fails because its dispatch does not exist yet, and would succeed once it does. */
async function failedDispatchJob(dispatchId: number) {
  const queue = uvis.running.deps.queues.dispatches;
  const job = await queue.add(
    'dispatch.status_changed',
    {
      eventId: 900_000 + dispatchId,
      dispatchId,
      orderId: 1,
      driverId: 2,
      vehicleId: 2,
      from: null,
      to: 'ASSIGNED',
      changedBy: null,
      changedAt: new Date().toISOString(),
      note: null,
    },
    { attempts: 1 },
  );
  await waitFor(async () => (await queue.getJobState(job.id!)) === 'failed', { what: 'job to fail' });
  return job.id!;
}

describe('Bull Board', () => {
  it('refuses without sign-in: the page redirects to the login form, the API answers 401', async () => {
    const browser = new CookieBrowser(uvis.baseUrl);
    const page = await browser.request('GET', '/admin/queues');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Fqueues');
    expect((await browser.request('GET', '/admin/queues/api/queues')).status).toBe(401);
  });

  it('signs in with a secure, http-only, same-site session cookie and shows every queue', async () => {
    const browser = new CookieBrowser(uvis.baseUrl);
    const signedIn = await browser.signIn(DEMO_ADMIN.email, DEMO_ADMIN.password);
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/admin/queues');
    const session = browser.setCookieHeaders.find((c) => c.startsWith('uvis_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/Secure/);
    expect(session).toMatch(/SameSite=Strict/);
    const page = await browser.request('GET', '/admin/queues');
    expect(page.status).toBe(200);
    expect(page.text).toContain('UVIS 작업 큐');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const api = await browser.request('GET', '/admin/queues/api/queues');
    expect(api.status).toBe(200);
    expect(
      api
        .json()
        .queues.map((q: { name: string }) => q.name)
        .sort(),
    ).toEqual([...QUEUE_NAMES].sort());
  });

  it('refuses a wrong password and a login form posted without its CSRF token', async () => {
    const browser = new CookieBrowser(uvis.baseUrl);
    const wrong = await browser.signIn(DEMO_ADMIN.email, 'wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('이메일 또는 비밀번호가 틀렸습니다');
    const forged = await new CookieBrowser(uvis.baseUrl).request('POST', '/admin/login', {
      form: { username: DEMO_ADMIN.email, password: DEMO_ADMIN.password },
    });
    expect(forged.status).toBe(403);
    // Still the sign-in page (Korean first), with a fresh token, not an API error body.
    expect(forged.headers.get('content-type')).toContain('text/html');
    expect(forged.text).toContain('페이지가 만료되었습니다');
    expect(forged.text).toMatch(/name="_csrf" value="[^"]+"/);
    expect(forged.text.startsWith('<!doctype html>')).toBe(true);
  });

  it('refuses drivers, even with the right password', async () => {
    const browser = new CookieBrowser(uvis.baseUrl);
    const res = await browser.signIn(DEMO_DRIVER2.email, DEMO_DRIVER2.password);
    expect(res.status).toBe(403);
    expect(browser.cookies.has('uvis_session')).toBe(false);
  });

  it('lets a dispatcher look but not act, and not at the admin-only queues', async () => {
    const jobId = await failedDispatchJob(700_001);
    const browser = new CookieBrowser(uvis.baseUrl);
    await browser.signIn(DEMO_DISPATCHER.email, DEMO_DISPATCHER.password);
    expect((await browser.request('GET', '/admin/queues')).status).toBe(200);
    const failed = await browser.request('GET', '/admin/queues/api/queues?activeQueue=dispatches&status=failed');
    expect(failed.status).toBe(200);
    // Backup and maintenance jobs (file locations, checksums) are for admins, as GET /jobs has it.
    expect(
      failed
        .json()
        .queues.map((q: { name: string }) => q.name)
        .sort(),
    ).toEqual(QUEUE_NAMES.filter(dispatcherMaySee).sort());
    // The admin-only queues are the ones the catalogue keeps from dispatchers (webhook jobs carry shippers' URLs and payloads).
    expect(QUEUE_NAMES.filter((q) => !dispatcherMaySee(q)).sort()).toEqual(['backups', 'maintenance', 'webhooks']);
    const retry = await browser.request('PUT', `/admin/queues/api/queues/dispatches/${jobId}/retry`, { headers: { 'x-xsrf-token': browser.xsrf } });
    expect(retry.status).toBe(403);
    expect(await uvis.running.deps.queues.dispatches.getJobState(jobId)).toBe('failed');
  });

  it('lets an admin retry a failed job, which runs again (with the CSRF header; without it, 403)', async () => {
    const dispatchId = 700_002;
    const jobId = await failedDispatchJob(dispatchId);
    const browser = new CookieBrowser(uvis.baseUrl);
    await browser.signIn(DEMO_ADMIN.email, DEMO_ADMIN.password);
    await browser.request('GET', '/admin/queues');
    expect((await browser.request('PUT', `/admin/queues/api/queues/dispatches/${jobId}/retry`)).status).toBe(403);
    // Make the job's precondition true, as an operator would after fixing the cause.
    const { db } = uvis.running.deps;
    const [order] = await db('orders')
      .insert({ client_id: 1, pickup_address: 'a', delivery_address: 'b', cargo_type: 'CHILLED', weight_kg: 1 })
      .returning('id');
    await db('dispatches').insert({ id: dispatchId, order_id: order.id, vehicle_id: 2, driver_id: 2, status: 'ASSIGNED' });
    const retry = await browser.request('PUT', `/admin/queues/api/queues/dispatches/${jobId}/retry`, { headers: { 'x-xsrf-token': browser.xsrf } });
    expect(retry.status).toBe(204);
    await waitFor(async () => (await uvis.running.deps.queues.dispatches.getJobState(jobId)) === 'completed', { what: 'retried job' });
    expect(await db('dispatch_status_history').where({ dispatch_id: dispatchId })).toHaveLength(1);
  });

  it('signing out ends the session', async () => {
    const browser = new CookieBrowser(uvis.baseUrl);
    await browser.signIn(DEMO_ADMIN.email, DEMO_ADMIN.password);
    const stolen = browser.cookies.get('uvis_session')!;
    const form = await browser.request('GET', '/admin/logout');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
    expect((await browser.request('POST', '/admin/logout', { form: { _csrf: csrf } })).status).toBe(303);
    const replay = new CookieBrowser(uvis.baseUrl);
    replay.cookies.set('uvis_session', stolen);
    expect((await replay.request('GET', '/admin/queues/api/queues')).status).toBe(401);
  });
});
