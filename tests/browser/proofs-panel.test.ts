/**
 * Proof of delivery on the dashboard (issue 17) in a real browser (Debian's Chromium, headless)
 * against a live UVIS: a dispatch whose order requires a photo and a signature says what is
 * missing in words on its card; a proof the driver uploads arrives live; the section, opened from
 * the keyboard, shows the thumbnail (the real image, fetched with the token, decoded by the
 * browser under the API's CSP), the recipient and the time, and the still missing signature; in
 * Korean first and in English. Screenshots in test-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { DEMO_DISPATCHER } from '../helpers/api-client.js';
import { openSignedIn, useLanguage } from '../helpers/dashboard-page.js';
import { dispatchWithDriver, noiseJpeg, signaturePng, uploadProof } from '../helpers/proofs.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { ensureDashboardBuilt } from './build-dashboard.js';
import { launchBrowser, type TestBrowser, type WatchedPage } from './chromium.js';

const ARTIFACTS = projectPath('test-artifacts');

let uvis: TestUvis;
let browser: TestBrowser;
let admin: string;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  const [started] = await Promise.all([startTestUvis({ role: 'all', env: { OUTBOX_POLL_MS: '100' } }), ensureDashboardBuilt()]);
  uvis = started;
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

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').replace(/\s+/g, ' ').trim();
const items = (page: Page, selector: string) => page.$$eval(`${selector} li`, (lis) => lis.map((li) => (li.textContent ?? '').trim()));

describe('proofs on the dashboard', () => {
  it('shows what is missing, then the proofs with thumbnail, recipient and time, live, in Korean and English', async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin, { proof_required: ['photo', 'signature'] });
    const plain = await dispatchWithDriver(uvis.api, admin);
    const watched = await openSignedIn(browser.context, uvis.baseUrl, DEMO_DISPATCHER, pages);
    const { page } = watched;
    await useLanguage(page, 'ko');
    const card = `li.dispatch-card[data-dispatch-id="${dispatchId}"]`;
    await page.waitForSelector(card);

    // Said in words, not only in colour.
    expect(await page.getAttribute(`${card} [data-role="proof-summary"]`, 'data-missing')).toBe('photo,signature');
    expect(await text(page, `${card} [data-role="proof-missing-badge"]`)).toBe('⚠ 필요: 사진, 서명');
    expect(await text(page, `li.dispatch-card[data-dispatch-id="${plain.dispatchId}"] [data-role="proof-summary"]`)).toBe('사진 0 · 서명 0 필수 증빙 없음');

    // Opened from the keyboard, like the other sections.
    await page.focus(`${card} [data-role="proof-details"] summary`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${card} [data-role="proof-missing"]`);
    expect(await items(page, `${card} [data-role="proof-missing"]`)).toEqual(['⚠ 사진 필요 — 아직 없음', '⚠ 서명 필요 — 아직 없음']);
    expect(await text(page, `${card} .proof-content p.muted`)).toBe('아직 증빙이 없습니다.');

    // The driver takes a photo: it arrives live (no reload), with the real image.
    const photo = await uploadProof(
      uvis.api,
      driver.token,
      dispatchId,
      { kind: 'photo', recipient_name: '김<b>수령</b>', note: '경비실 보관' },
      await noiseJpeg(640, 480),
    );
    expect(photo.status, photo.text).toBe(201);
    const image = await page.waitForSelector(`${card} li.proof[data-proof-id="${photo.body.id}"] img[data-role="proof-image"]`);
    await page.waitForFunction((img) => (img as any).complete && (img as any).naturalWidth > 0, image);
    expect(await image.evaluate((img) => [(img as any).naturalWidth, (img as any).naturalHeight])).toEqual([640, 480]);
    expect(await image.getAttribute('src')).toMatch(/^blob:/);
    const alt = await image.getAttribute('alt');
    expect(alt).toContain(`배송 사진 #${photo.body.id}`);
    expect(alt).toContain('수령인 김<b>수령</b>');
    // The recipient's name is text, never markup.
    expect(await page.$(`${card} li.proof b`)).toBeNull();
    const caption = await text(page, `${card} li.proof[data-proof-id="${photo.body.id}"] figcaption`);
    expect(caption).toContain('사진 #');
    expect(caption).toContain('수령인 김<b>수령</b>');
    expect(caption).toContain('경비실 보관');
    expect(await page.getAttribute(`${card} li.proof[data-proof-id="${photo.body.id}"] time`, 'datetime')).toBe(photo.body.created_at);
    // The thumbnail is a link a keyboard reaches, named for screen readers.
    expect(await page.getAttribute(`${card} li.proof[data-proof-id="${photo.body.id}"] a.proof-thumb`, 'aria-label')).toBe(
      `사진 #${photo.body.id} 크게 보기 (새 탭)`,
    );
    await page.waitForFunction(
      (selector) => (globalThis as any).document.querySelector(selector)?.getAttribute('data-missing') === 'signature',
      `${card} [data-role="proof-summary"]`,
    );
    expect(await items(page, `${card} [data-role="proof-missing"]`)).toEqual(['⚠ 서명 필요 — 아직 없음']);
    await page.locator(card).screenshot({ path: `${ARTIFACTS}/dashboard-proofs-ko.png` });

    // The signature completes it.
    const signature = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature', recipient_name: '김수령' }, await signaturePng(), {
      type: 'image/png',
    });
    expect(signature.status, signature.text).toBe(201);
    await page.waitForSelector(`${card} li.proof[data-proof-id="${signature.body.id}"] img[data-role="proof-image"]`);
    await page.waitForFunction(
      (selector) => (globalThis as any).document.querySelector(selector)?.getAttribute('data-missing') === '',
      `${card} [data-role="proof-summary"]`,
    );
    expect(await page.$(`${card} [data-role="proof-missing"]`)).toBeNull();
    expect(await text(page, `${card} [data-role="proof-summary"]`)).toBe('사진 1 · 서명 1 ✓ 필수 증빙 완료');

    await useLanguage(page, 'en');
    await page.waitForFunction(
      (selector) => (globalThis as any).document.querySelector(selector)?.textContent?.includes('Photos 1'),
      `${card} [data-role="proof-summary"]`,
    );
    expect(await text(page, `${card} [data-role="proof-summary"]`)).toBe('Photos 1 · signatures 1 ✓ Required proof complete');
    expect(await text(page, `${card} [data-role="proof-details"] summary`)).toContain('Delivery photos · signatures');
    await page.locator(card).screenshot({ path: `${ARTIFACTS}/dashboard-proofs-en.png` });
    expect(watched.problems).toEqual([]);
  });
});
