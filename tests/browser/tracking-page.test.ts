/**
 * The public tracking page (issue 16 item 5) in a real browser (Debian's Chromium, headless): a
 * shipper's customer opens the link of an order on the road and sees, in Korean first with
 * English beside it, the status, the timeline in order and a position rounded to about 1 km,
 * styled by its own stylesheet under the page's CSP, and nothing personal; a revoked link shows
 * the not-found page. The screenshot is kept in test-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { waitFor } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { launchBrowser, newPage, type TestBrowser, type WatchedPage } from './chromium.js';

const ARTIFACTS = projectPath('test-artifacts');
let uvis: TestUvis;
let browser: TestBrowser;
let admin: string;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
  browser = await launchBrowser();
  admin = await uvis.api.login();
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.page.close()));
});
afterAll(async () => {
  await browser?.close();
  await uvis?.stop();
});

async function open(path: string): Promise<{ watched: WatchedPage; status: number | undefined }> {
  const watched = await newPage(browser.context);
  pages.push(watched);
  const response = await watched.page.goto(`${uvis.baseUrl}${path}`);
  return { watched, status: response?.status() };
}

describe('the tracking page in a browser', () => {
  it('shows an order on the road in Korean first, its timeline in order and a rounded position, styled under its CSP, with nothing personal', async () => {
    const plate = `추적${Math.floor(Math.random() * 9000 + 1000)}`;
    const vehicle = await createVehicle(uvis.api, admin, { license_plate: plate });
    const driver = await createDriverAccount(uvis.api, admin, { name: '김배송', phone: '010-2468-1357' });
    const order = await createOrder(uvis.api, admin, { pickup_address: '경기도 이천시 마장면 냉동창고 9', delivery_address: '대구시 북구 산격동 515' });
    const token = String((await uvis.api.get(`/api/v1/orders/${order.id}`, admin)).body.tracking_url).split('/track/')[1]!;
    const dispatch = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
    expect(dispatch.status, dispatch.text).toBe(201);
    for (const status of ['ACCEPTED', 'PICKED_UP', 'IN_TRANSIT']) {
      const res = await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatch.body.id}/status`, { json: { status }, token: driver.token });
      expect(res.status, res.text).toBe(200);
    }
    expect((await uvis.api.post('/api/v1/mobile/location', { latitude: 36.126_842, longitude: 128.344_517 }, driver.token)).status).toBe(202);
    await waitFor(
      async () => {
        const res = await uvis.api.get(`/api/v1/track/${token}`);
        return res.body.position && res.body.timeline.length === 5 ? res.body : undefined;
      },
      { what: 'the timeline and the position of the order' },
    );

    const { watched, status } = await open(`/track/${token}`);
    const { page } = watched;
    expect(status).toBe(200);
    expect(await page.getAttribute('html', 'lang')).toBe('ko');
    expect(await page.textContent('h1')).toContain('배송 조회');
    expect((await page.textContent('p.status'))?.trim()).toBe('운송 중 In transit');
    // The timeline, in the order it happened, each step Korean first.
    const steps = (await page.locator('ol > li').allInnerTexts()).map((t) => t.split(' · ')[0]);
    expect(steps).toEqual(['접수 Received', '배차됨 Assigned', '수락 Accepted', '상차 완료 Picked up', '운송 중 In transit']);
    // The stylesheet loaded and applied under the page's CSP: English is set apart in grey.
    expect(
      await page
        .locator('.en')
        .first()
        .evaluate((el) => (globalThis as any).getComputedStyle(el).color),
    ).toBe('rgb(89, 99, 110)');
    expect(watched.problems).toEqual([]);

    const text = await page.locator('body').innerText();
    expect(text).toContain('36.13, 128.34');
    for (const secret of ['김배송', '010-2468-1357', plate, '냉동창고', '산격동 515', '36.1268', '128.3445']) expect(text, secret).not.toContain(secret);
    await page.screenshot({ path: join(ARTIFACTS, 'tracking-page.png'), fullPage: true });

    const revoked = await uvis.api.request('DELETE', `/api/v1/orders/${order.id}/tracking-link`, { token: admin });
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.tracking_url).toBeNull();
    const gone = await open(`/track/${token}`);
    expect(gone.status).toBe(404);
    expect(await gone.watched.page.locator('body').innerText()).not.toContain('운송 중');
  });
});
