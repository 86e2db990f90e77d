/**
 * Dispatch suggestions and plans on the dashboard in a real browser (Debian's Chromium, headless)
 * against a live UVIS: choosing an order shows its best pairs with their terms and the excluded
 * ones with their reasons (Korean first, English on the switch); a suggestion is taken with the
 * keyboard and assigned; the whole board is planned, reviewed and applied in one click; a plan made
 * stale by a manual dispatch is refused in words and assigns nothing.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { DEMO_ADMIN, DEMO_DISPATCHER } from '../helpers/api-client.js';
import { openSignedIn, useLanguage } from '../helpers/dashboard-page.js';
import { BUSAN, createPair, createPlacedOrder, NEAR_GANGNAM, retireDemoFleet } from '../helpers/dispatch-board.js';
import { assign } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { ensureDashboardBuilt } from './build-dashboard.js';
import { launchBrowser, type TestBrowser, type WatchedPage } from './chromium.js';

const ARTIFACTS = projectPath('test-artifacts');

let uvis: TestUvis;
let browser: TestBrowser;
let admin: string;
let dispatcher: string;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  // Workers too: the page learns of orders created through the API from the live events they publish.
  const [started] = await Promise.all([startTestUvis({ role: 'all' }), ensureDashboardBuilt()]);
  uvis = started;
  browser = await launchBrowser();
  [admin, dispatcher] = await Promise.all([uvis.api.login(DEMO_ADMIN), uvis.api.login(DEMO_DISPATCHER)]);
  await retireDemoFleet(uvis.running.deps.db);
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.page.close()));
});
afterAll(async () => {
  await browser?.close();
  await uvis?.stop();
});

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').trim();

describe('suggestions in the assignment form', () => {
  it('ranks the pairs with their terms, explains the excluded ones, and fills the form from the keyboard', async () => {
    const near = await createPair(uvis.api, admin, { base: NEAR_GANGNAM });
    const far = await createPair(uvis.api, admin, { base: BUSAN });
    const dry = await createPair(uvis.api, admin, { vehicle: { vehicle_type: 'DRY' } });
    const order = await createPlacedOrder(uvis.api, dispatcher);
    const plates = Object.fromEntries(
      await Promise.all([near, far].map(async (p) => [p.vehicleId, (await uvis.api.get(`/api/v1/vehicles/${p.vehicleId}`, admin)).body.license_plate])),
    );

    const watched = await openSignedIn(browser.context, uvis.baseUrl, DEMO_DISPATCHER, pages);
    const { page } = watched;
    await useLanguage(page, 'ko');
    expect(await text(page, '#suggest-status')).toBe('주문을 고르면 추천 차량과 기사가 나옵니다.');
    await page.waitForSelector(`#assign select[name="order_id"] option[value="${order.id}"]`, { state: 'attached' });
    await page.selectOption('#assign select[name="order_id"]', String(order.id));

    const first = await page.waitForSelector('#suggest-list li[data-rank="1"]');
    expect(await first.getAttribute('data-vehicle-id')).toBe(String(near.vehicleId));
    expect(await text(page, '#suggest-list li[data-rank="1"] [data-role="pair"]')).toContain(plates[near.vehicleId]);
    expect(await text(page, '#suggest-list li[data-rank="1"] [data-role="terms"]')).toMatch(
      /^1\.0 km \(차고지 기준\) · 거리 0\.96 · 적재율 0\.20 · 냉장 준비 0\.50 · 공정성 1\.00$/,
    );
    expect(await text(page, '#suggest-list li[data-rank="2"] [data-role="pair"]')).toContain(plates[far.vehicleId]);

    // The excluded pairs, behind a disclosure: the DRY van, with its reason in Korean and the server's words.
    await page.click('#suggestions details.excluded-pairs summary');
    const reason = `#suggest-excluded li[data-vehicle-id="${dry.vehicleId}"] li[data-code="cargo_class_unsupported"]`;
    expect(await text(page, reason)).toMatch(/^차량이 이 화물 종류를 실을 수 없습니다 \(vehicle \d+ cannot carry CHILLED/);

    // Keyboard: the first suggestion's button, Enter; the form is filled and focus moves to Assign.
    await page.focus('#suggest-list li[data-rank="1"] button[data-action="use"]');
    expect(await page.getAttribute('#suggest-list li[data-rank="1"] button[data-action="use"]', 'aria-label')).toContain(plates[near.vehicleId]);
    await page.keyboard.press('Enter');
    expect(await page.inputValue('#assign select[name="vehicle_id"]')).toBe(String(near.vehicleId));
    expect(await page.inputValue('#assign select[name="driver_id"]')).toBe(String(near.driverId));
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('type'))).toBe('submit');
    expect(await text(page, '#assign-result')).toContain('배차하기를 누르세요');
    await page.keyboard.press('Enter');
    const done = await page.waitForSelector('#assign-result.ok');
    const dispatch = await uvis.running.deps
      .db('dispatches')
      .where({ id: Number(await done.getAttribute('data-dispatch-id')) })
      .first();
    expect([dispatch.order_id, dispatch.vehicle_id, dispatch.driver_id]).toEqual([order.id, near.vehicleId, near.driverId]);

    // In English, the next order's suggestions read in English.
    const next = await createPlacedOrder(uvis.api, dispatcher);
    await useLanguage(page, 'en');
    await page.waitForSelector(`#assign select[name="order_id"] option[value="${next.id}"]`, { state: 'attached' });
    await page.selectOption('#assign select[name="order_id"]', String(next.id));
    await page.waitForSelector(`#suggest-list li[data-rank="1"][data-vehicle-id="${far.vehicleId}"]`);
    expect(await text(page, '#suggest-list li[data-rank="1"] [data-role="terms"]')).toMatch(/\(from its base\) · distance 0\.07/);
    await page.screenshot({ path: `${ARTIFACTS}/dispatch-suggestions.png`, fullPage: true });
    expect(watched.problems).toEqual([]);
  });
});

describe('the plan view', () => {
  it('plans the board, shows the unassigned with reasons, applies it in one click, and refuses a stale plan in words', async () => {
    // Only this test's orders wait: the demo's and the first test's are cancelled.
    await uvis.running.deps.db('orders').where({ status: 'PENDING' }).update({ status: 'CANCELLED' });
    await createPair(uvis.api, admin);
    await createPair(uvis.api, admin);
    const a = await createPlacedOrder(uvis.api, dispatcher);
    const b = await createPlacedOrder(uvis.api, dispatcher);
    const heavy = await createPlacedOrder(uvis.api, dispatcher, { weight: 90_000 });

    const watched = await openSignedIn(browser.context, uvis.baseUrl, DEMO_DISPATCHER, pages);
    const { page } = watched;
    await useLanguage(page, 'ko');
    expect(await text(page, '#plans-title')).toBe('배차 계획');
    await page.click('#plan-make');
    await page.waitForSelector('#plan-view [data-role="summary"]');
    const planned = await page.$$eval('#plan-assignments tbody tr', (rows) => rows.map((r) => Number(r.getAttribute('data-order-id'))));
    expect(planned.sort()).toEqual([a.id, b.id].sort());
    expect(await text(page, `#plan-unassigned li[data-order-id="${heavy.id}"] li[data-code="no_compatible_pair"]`)).toMatch(
      /^모든 조건을 만족하는 차량·기사가 없습니다/,
    );
    expect(await text(page, '#plan-view [data-role="baseline"]')).toMatch(/^오래된 주문부터 가까운 차량을 고르면: 배정 \d+건 · 총점 [\d.]+$/);
    await page.screenshot({ path: `${ARTIFACTS}/dispatch-plan.png`, fullPage: true });

    await page.click('#plan-apply');
    await page.waitForSelector('#plan-result.ok');
    expect(await text(page, '#plan-result')).toBe(`배차 ${planned.length}건을 만들었습니다`);
    expect(await page.isDisabled('#plan-apply')).toBe(true);
    expect(await uvis.running.deps.db('orders').whereIn('id', [a.id, b.id]).pluck('status')).toEqual(['ASSIGNED', 'ASSIGNED']);

    // A new plan, then a manual dispatch of one of its orders: Apply is refused and assigns nothing.
    const spare = await createPair(uvis.api, admin);
    const c = await createPlacedOrder(uvis.api, dispatcher);
    await page.click('#plan-make');
    await page.waitForSelector(`#plan-assignments tr[data-order-id="${c.id}"]`);
    expect((await assign(uvis.api, dispatcher, c.id, spare.vehicleId, spare.driverId)).status).toBe(201);
    const before = await uvis.running.deps.db('dispatches').count<{ count: string }[]>('* as count');
    await page.click('#plan-apply');
    await page.waitForSelector('#plan-result.error[data-code="plan_stale"]');
    expect(await text(page, '#plan-result')).toMatch(/^계획을 만든 뒤 배차 현황이 바뀌어 아무것도 배차하지 않았습니다\. 다시 계획하세요\./);
    expect(await page.getAttribute('#plan-result', 'role')).toBe('alert');
    expect(await uvis.running.deps.db('dispatches').count<{ count: string }[]>('* as count')).toEqual(before);
    expect(watched.problems).toEqual([]);
  });
});
