/**
 * The dispatcher dashboard in a real browser (Debian's Chromium, headless) against a
 * live UVIS: sign in, create and assign an order, watch it change live as the driver
 * reports, see a vehicle move and a card's temperature follow posted readings, read a
 * refusal, stay safe with hostile addresses, survive a network drop, and leave
 * screenshots in test-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { DEMO_ADMIN, DEMO_DISPATCHER, DEMO_DRIVER2 } from '../helpers/api-client.js';
import { assign, createDriver, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { launchBrowser, type TestBrowser, type WatchedPage } from './chromium.js';
import { openSignedIn, useLanguage } from '../helpers/dashboard-page.js';
import { ensureDashboardBuilt } from './build-dashboard.js';

const ARTIFACTS = projectPath('test-artifacts');

let uvis: TestUvis;
let browser: TestBrowser;
let admin: string;
let dispatcherToken: string;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  const [started] = await Promise.all([startTestUvis({ role: 'all' }), ensureDashboardBuilt()]);
  uvis = started;
  browser = await launchBrowser();
  [admin, dispatcherToken] = await Promise.all([uvis.api.login(DEMO_ADMIN), uvis.api.login(DEMO_DISPATCHER)]);
  mkdirSync(ARTIFACTS, { recursive: true });
});

// Each open page holds a live stream, and Chromium allows six HTTP/1.1 connections per host.
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.page.close()));
});

afterAll(async () => {
  await browser?.close();
  await uvis?.stop();
});

/** Opens the dashboard and signs in through its form, as a person would; resolves when the live stream is up. */
const signedIn = (account = DEMO_DISPATCHER): Promise<WatchedPage> => openSignedIn(browser.context, uvis.baseUrl, account, pages);

async function createOrderInPage(page: Page, fields: { pickup: string; delivery: string; cargo: string; weight: string }): Promise<number> {
  await page.selectOption('#create-order select[name="client_id"]', '1');
  await page.fill('#create-order input[name="pickup_address"]', fields.pickup);
  await page.fill('#create-order input[name="delivery_address"]', fields.delivery);
  await page.selectOption('#create-order select[name="cargo_type"]', fields.cargo);
  await page.fill('#create-order input[name="weight"]', fields.weight);
  const previous = await page.getAttribute('#create-result', 'data-order-id');
  await page.click('#create-order button[type="submit"]');
  const result = await page.waitForSelector(`#create-result.ok:not([data-order-id="${previous ?? ''}"])`);
  return Number(await result.getAttribute('data-order-id'));
}

function noProblems(watched: WatchedPage): void {
  expect(watched.problems).toEqual([]);
}

describe('dispatcher dashboard', () => {
  it('signs in, creates an order, assigns it, and shows the driver’s status changes live', async () => {
    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    await useLanguage(page, 'ko');
    expect(await page.textContent('.who')).toContain('dispatcher@example.com');
    // Dispatchers get no Bull Board link; admins do (checked below).
    expect(await page.$('#bull-board-link')).toBeNull();

    const orderId = await createOrderInPage(page, {
      pickup: '서울특별시 강남구 테헤란로 152',
      delivery: '부산광역시 해운대구 센텀중앙로 79',
      cargo: 'CHILLED',
      weight: '300',
    });
    await page.waitForSelector(`#orders tr[data-order-id="${orderId}"] [data-status="PENDING"]`);
    // The new order is already chosen in the assignment form.
    expect(await page.inputValue('#assign select[name="order_id"]')).toBe(String(orderId));
    await page.selectOption('#assign select[name="vehicle_id"]', '1');
    await page.selectOption('#assign select[name="driver_id"]', '1');
    await page.click('#assign button[type="submit"]');
    const done = await page.waitForSelector('#assign-result.ok');
    const dispatchId = Number(await done.getAttribute('data-dispatch-id'));
    const card = `#dispatches li[data-dispatch-id="${dispatchId}"]`;
    await page.waitForSelector(`${card}[data-status="ASSIGNED"] .history li[data-to="ASSIGNED"]`);
    await page.waitForSelector(`#orders tr[data-order-id="${orderId}"] [data-status="ASSIGNED"]`);

    // From here on the page must not reload: the marker proves it is the same document.
    await page.evaluate(() => ((globalThis as any).sameDocument = true));
    const report = async (status: string) => {
      const res = await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatchId}/status`, { token: admin, json: { status } });
      expect(res.status, res.text).toBe(200);
    };
    await report('ACCEPTED');
    await page.waitForSelector(`${card}[data-status="ACCEPTED"] .history li[data-to="ACCEPTED"]`);
    expect(await page.textContent(`${card} [data-role="dispatch-status"]`)).toBe('수락');

    await report('IN_TRANSIT');
    await page.waitForSelector(`${card}[data-status="IN_TRANSIT"]`);
    await page.waitForSelector(`#orders tr[data-order-id="${orderId}"] [data-status="IN_TRANSIT"]`);

    await report('COMPLETED');
    await page.waitForSelector(card, { state: 'detached' });
    await page.waitForSelector(`#orders tr[data-order-id="${orderId}"] [data-status="COMPLETED"]`);
    expect(await page.evaluate(() => (globalThis as any).sameDocument)).toBe(true);
    noProblems(watched);
  });

  it('moves a vehicle’s marker when its driver posts a location, and greys out stale vehicles', async () => {
    // Vehicle 4 last reported an hour ago.
    await uvis.running.deps
      .db('driver_positions')
      .where('driver_id', 4)
      .update({ recorded_at: new Date(Date.now() - 3600_000) });
    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    const marker = '#map g.marker[data-vehicle-id="2"]';
    await page.waitForSelector(`${marker}[data-state="fresh"]`);
    const before = await page.getAttribute(marker, 'transform');
    await page.waitForSelector('#map g.marker[data-vehicle-id="4"][data-state="stale"]');
    await page.waitForSelector('#map tr[data-vehicle-id="4"][data-state="stale"]');
    await page.waitForSelector('#map tr[data-vehicle-id="1"][data-state="never"]');

    const driver2 = await uvis.api.login(DEMO_DRIVER2);
    const posted = await uvis.api.post('/api/v1/mobile/location', { latitude: 37.5665, longitude: 126.978 }, driver2);
    expect(posted.status).toBe(202);
    await page.waitForSelector(`${marker}[data-lat="37.5665"][data-lng="126.978"]`);
    const after = await page.getAttribute(marker, 'transform');
    expect(after).not.toBe(before);
    // Seoul is north-west of Busan, where the vehicle was: up and to the left on the plot.
    const xy = (t: string | null) =>
      t!
        .match(/translate\(([\d.]+) ([\d.]+)\)/)!
        .slice(1)
        .map(Number);
    const [x0, y0] = xy(before);
    const [x1, y1] = xy(after);
    expect(x1).toBeLessThan(x0!);
    expect(y1).toBeLessThan(y0!);
    noProblems(watched);
  });

  it('shows why an assignment is refused', async () => {
    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    await useLanguage(page, 'ko');
    const orderId = await createOrderInPage(page, {
      pickup: '부산광역시 사하구 다대로 1',
      delivery: '대구광역시 달서구 성서공단로 11',
      cargo: 'FROZEN',
      weight: '500',
    });
    await page.selectOption('#assign select[name="order_id"]', String(orderId));
    await page.selectOption('#assign select[name="vehicle_id"]', '3');
    await page.selectOption('#assign select[name="driver_id"]', '3');
    await page.click('#assign button[type="submit"]');
    const reason = await page.waitForSelector('#assign-result.refusal li[data-code="cargo_class_unsupported"]');
    expect(await reason.textContent()).toContain('차량이 이 화물 종류를 실을 수 없습니다');
    expect(await reason.textContent()).toContain('vehicle 3 cannot carry FROZEN');
    expect(await page.getAttribute('#assign-result', 'role')).toBe('alert');
    // Nothing was assigned: the order is still waiting.
    await page.waitForSelector(`#orders tr[data-order-id="${orderId}"] [data-status="PENDING"]`);
    noProblems(watched);
  });

  it('shows a stored script payload in an address as text and never runs it', async () => {
    const pickup = '<img src=x onerror="window.__xss=1">서울특별시 강남구 <script>window.__xss=2</script>';
    const delivery = '"><svg onload="window.__xss=3"></svg>부산광역시 해운대구';
    const order = await createOrder(uvis.api, dispatcherToken, { pickup_address: pickup, delivery_address: delivery, cargo_type: '냉장' });
    const dispatch = await assign(uvis.api, dispatcherToken, order.id, 5, 5);
    expect(dispatch.status, dispatch.text).toBe(201);
    const pending = await createOrder(uvis.api, dispatcherToken, { pickup_address: pickup, delivery_address: delivery, cargo_type: '냉장' });

    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    // Search by district, as a dispatcher would.
    await page.fill('#orders input[name="q"]', '강남구');
    await page.press('#orders input[name="q"]', 'Enter');
    const row = `#orders tr[data-order-id="${order.id}"]`;
    await page.waitForSelector(row);
    expect(await page.textContent(`${row} .address.pickup`)).toBe(pickup);
    expect(await page.textContent(`${row} .address.delivery`)).toBe(`→ ${delivery}`);
    const card = `#dispatches li[data-dispatch-id="${dispatch.body.id}"]`;
    await page.waitForSelector(card);
    expect(await page.textContent(card)).toContain(pickup);
    expect(await page.textContent(`#assign select[name="order_id"] option[value="${pending.id}"]`)).toContain(pickup);
    // No element came out of the payload, and none of its code ran.
    expect(await page.$$('#orders img, #orders script, #orders svg, #dispatches img, #dispatches script, #dispatches svg')).toHaveLength(0);
    expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
    noProblems(watched);
  });

  it('reconnects by itself after the connection drops, and keeps updating', async () => {
    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    // The server side goes away (a replica restarts, a proxy cuts the stream).
    uvis.running.deps.liveHub.closeAll('test');
    await page.waitForSelector('#live-state[data-state="live"]');
    // The browser loses the network, then gets it back.
    await browser.context.setOffline(true);
    await page.waitForSelector('#live-state[data-state="offline"]');
    await browser.context.setOffline(false);
    await page.waitForSelector('#live-state[data-state="live"]');

    const driver2 = await uvis.api.login(DEMO_DRIVER2);
    await uvis.api.post('/api/v1/mobile/location', { latitude: 35.8694, longitude: 128.6062 }, driver2);
    await page.waitForSelector('#map g.marker[data-vehicle-id="2"][data-lat="35.8694"]');

    // A vehicle added while the page was away is offered for assignment after the next reconnect.
    const added = await uvis.api.post('/api/v1/vehicles', { license_plate: `재연결${Date.now() % 10000}`, vehicle_type: 'FREEZER', capacity_kg: 3000 }, admin);
    expect(added.status, added.text).toBe(201);
    uvis.running.deps.liveHub.closeAll('test');
    await page.waitForSelector(`#assign select[name="vehicle_id"] option[value="${added.body.id}"]`, { state: 'attached' });
    noProblems(watched);
  });

  it('works from the keyboard: skip link, buttons, and focus kept through live updates', async () => {
    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.className)).toBe('skip-link');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe('main');

    // A new order from another dispatcher appears live; its assign button takes focus.
    const pending = await createOrder(uvis.api, dispatcherToken, { pickup_address: '경기도 이천시 부발읍 1', delivery_address: '충청북도 청주시 상당구 1' });
    const button = `#orders button[data-key="assign-${pending.id}"]`;
    await page.waitForSelector(button);
    await page.focus(button);
    // The list is rebuilt by the next live update; the focus must stay on the same button.
    const another = await createOrder(uvis.api, dispatcherToken);
    await page.waitForSelector(`#orders tr[data-order-id="${another.id}"]`);
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.dataset.key)).toBe(`assign-${pending.id}`);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('name'))).toBe('vehicle_id');
    expect(await page.inputValue('#assign select[name="order_id"]')).toBe(String(pending.id));

    // Cancelling from the keyboard: the button goes with its order, focus lands on the outcome, not on <body>.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.focus(`#orders button[data-key="cancel-${another.id}"]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#orders button[data-key="cancel-${another.id}"]`, { state: 'detached' });
    await page.waitForFunction(() => (globalThis as any).document.activeElement?.getAttribute('role') === 'status');
    noProblems(watched);
  });

  it('signs out on the server even after the access token went stale, and sends a demoted account back to sign-in', async () => {
    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    const refresh = await page.evaluate(() => JSON.parse((globalThis as any).sessionStorage.getItem('uvis.dashboard.tokens')).refresh as string);
    // The access token expired while the tab slept (the refresh token is still good): the
    // server refuses the first sign-out call as it would a stale token.
    await page.route(
      '**/api/v1/auth/logout',
      (route) => route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":{"code":"token_expired","message":"expired","details":null}}' }),
      { times: 1 },
    );
    await page.click('#sign-out');
    await page.waitForSelector('#email');
    // The session is over on the server: its refresh token no longer works.
    expect((await uvis.api.post('/api/v1/auth/refresh', { refresh_token: refresh })).status).toBe(401);

    // A dispatcher whose role is taken away while watching is sent back to sign-in, with the reason.
    const account = { email: `watcher-${Date.now()}@example.com`, password: 'watcher-password' };
    const created = await uvis.api.post('/api/v1/users', { ...account, role: 'dispatcher' }, admin);
    expect(created.status, created.text).toBe(201);
    const second = await signedIn(account);
    const driver = await uvis.api.post('/api/v1/drivers', { name: '강등 기사' }, admin);
    expect(
      (await uvis.api.request('PATCH', `/api/v1/users/${created.body.id}`, { token: admin, json: { role: 'driver', driver_id: driver.body.id } })).status,
    ).toBe(200);
    uvis.running.deps.liveHub.closeAll('test'); // the next reconnect meets the new role
    await second.page.waitForSelector('#signin-message.error');
    await useLanguage(second.page, 'ko');
    expect(await second.page.textContent('#signin-message')).toContain('관리자와 배차 담당자만');
    noProblems(watched);
  });

  it('shows a dispatch’s temperature, trip chart and excursions, records a corrective action, and follows excursion events live', async () => {
    const db = uvis.running.deps.db;
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriver(uvis.api, admin);
    // CHILLED: 0 to 10 °C.
    const order = await createOrder(uvis.api, admin, { pickup_address: '경기도 이천시 마장면 1', delivery_address: '대전광역시 유성구 2' });
    const created = await assign(uvis.api, admin, order.id, vehicle.id, driver.id);
    expect(created.status, created.text).toBe(201);
    const dispatchId = created.body.id as number;
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    // An hour of readings at one a minute: in range, 25 minutes too warm (a door left open), back in range, then warm again.
    const temps = (m: number) => (m > 40 ? 4 + Math.sin(m / 5) : m > 15 ? 13.5 : m > 3 ? 5 : 12);
    await db('temperature_readings').insert(
      Array.from({ length: 60 }, (_, i) => 59 - i).map((m) => ({
        vehicle_id: vehicle.id,
        dispatch_id: dispatchId,
        sensor: 'main',
        recorded_at: at(m),
        temperature_c: temps(m),
        source: 'driver',
      })),
    );
    const excursion = (from: number, to: number | null, status: 'OPEN' | 'CLOSED') => ({
      dispatch_id: dispatchId,
      vehicle_id: vehicle.id,
      sensor: 'main',
      kind: 'HIGH',
      severity: 'WARNING',
      status,
      started_at: at(from),
      ended_at: to === null ? null : at(to),
      duration_s: ((to ?? 0) - from) * -60,
      peak_c: status === 'OPEN' ? 12 : 13.5,
      readings: 10,
    });
    const [closed, open] = await db('temperature_excursions')
      .insert([excursion(40, 15, 'CLOSED'), excursion(3, null, 'OPEN')])
      .returning('id');
    await db('excursion_actions').insert({ excursion_id: closed.id, action: 'CLOSED_DOOR', note: '기사에게 전화, 도어 닫힘 확인' });

    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    await useLanguage(page, 'ko');
    const card = `#dispatches li[data-dispatch-id="${dispatchId}"]`;
    await page.waitForSelector(`${card} [data-role="temperature"][data-level="WARNING"]`);
    expect(await page.textContent(`${card} [data-role="temperature-value"]`)).toBe('12 °C');
    // The state is said in words, not only by colour.
    expect(await page.textContent(`${card} [data-role="temperature-state"]`)).toContain('경고 · 기준 이탈 (높음)');
    expect(await page.textContent(`${card} .temp-limits`)).toContain('냉장 0 – 10 °C');
    expect(await page.textContent(`${card} [data-role="open-excursions"]`)).toContain('진행 중 이탈 1건');

    // Readings load when the section is opened.
    await page.click(`${card} [data-role="temperature-details"] summary`);
    await page.waitForSelector(`${card} svg[data-role="trip-chart"] polyline[data-role="trace"]`);
    const points = (await page.getAttribute(`${card} polyline[data-role="trace"]`, 'points'))!.trim().split(' ');
    expect(points).toHaveLength(60);
    expect(await page.$(`${card} svg rect[data-role="limit-band"]`)).not.toBeNull();
    await page.waitForSelector(`${card} .excursion[data-excursion-id="${open.id}"][data-status="OPEN"]`);
    expect(await page.textContent(`${card} .excursion[data-excursion-id="${closed.id}"]`)).toContain('기사에게 전화, 도어 닫힘 확인');
    expect(await page.textContent(`${card} .excursion[data-excursion-id="${open.id}"]`)).toContain('조치 기록 없음');
    // Korean labels first in the action select.
    const actionLabels = await page.$$eval(`${card} select[name="action"] option`, (os) => os.map((o) => o.textContent));
    expect(actionLabels).toEqual([
      '선택하세요',
      '설정 온도 조정',
      '문 닫음',
      '냉동기 수리',
      '화물 옮겨 실음',
      '차고지로 회송',
      '검사 후 출고',
      '격리 보관',
      '폐기',
    ]);
    // The open excursion is offered first.
    expect(await page.inputValue(`${card} select[name="excursion_id"]`)).toBe(String(open.id));
    // The list scrolls inside its panel: let it grow for the card's picture.
    await page.evaluate(() => {
      for (const el of (globalThis as any).document.querySelectorAll('#dispatches .list-scroll')) el.style.maxHeight = 'none';
    });
    await page.locator(card).screenshot({ path: `${ARTIFACTS}/dashboard-temperature-ko.png` });

    await page.selectOption(`${card} select[name="action"]`, 'ADJUSTED_SETPOINT');
    await page.fill(`${card} textarea[name="note"]`, '설정 온도 2 °C로 조정');
    await page.click(`${card} [data-role="action-form"] button[type="submit"]`);
    await page.waitForSelector(`${card} [data-role="action-result"].ok`);
    const listed = await uvis.api.get(`/api/v1/dispatches/${dispatchId}/excursions`, dispatcherToken);
    const recorded = listed.body.items.find((e: any) => e.id === open.id);
    expect(recorded.actions).toMatchObject([{ action: 'ADJUSTED_SETPOINT', note: '설정 온도 2 °C로 조정', at: expect.any(String) }]);
    await page.waitForSelector(`${card} .excursion[data-excursion-id="${open.id}"] li[data-action="ADJUSTED_SETPOINT"]`);
    expect(await page.textContent(`${card} .excursion[data-excursion-id="${open.id}"] [data-role="actions"]`)).toContain(
      '설정 온도 조정 · 설정 온도 2 °C로 조정',
    );

    // A refused action is shown like the other forms' errors: a superseded excursion is a 404.
    await db('temperature_excursions').where({ id: closed.id }).update({ superseded_at: new Date() });
    await page.selectOption(`${card} select[name="excursion_id"]`, String(closed.id));
    await page.selectOption(`${card} select[name="action"]`, 'INSPECTED_RELEASED');
    await page.click(`${card} [data-role="action-form"] button[type="submit"]`);
    await page.waitForSelector(`${card} [data-role="action-result"].error`);
    await db('temperature_excursions').where({ id: closed.id }).update({ superseded_at: null });

    // Live: an excursion event (as the telemetry worker publishes it) refreshes that dispatch's excursions and counts.
    await page.evaluate(() => ((globalThis as any).sameDocument = true));
    const [critical] = await db('temperature_excursions')
      .insert({ ...excursion(1, null, 'OPEN'), kind: 'DATA_GAP', severity: 'CRITICAL', sensor: 'rear', peak_c: null })
      .returning('*');
    uvis.running.deps.live.publish({
      type: 'excursion',
      excursion_id: critical.id,
      dispatch_id: dispatchId,
      vehicle_id: vehicle.id,
      sensor: 'rear',
      kind: 'DATA_GAP',
      severity: 'CRITICAL',
      status: 'OPEN',
      started_at: critical.started_at.toISOString(),
      ended_at: null,
      at: new Date().toISOString(),
    });
    await page.waitForSelector(`${card} .excursion[data-excursion-id="${critical.id}"][data-status="OPEN"][data-severity="CRITICAL"]`);
    await page.waitForFunction(
      (sel) => (globalThis as any).document.querySelector(sel)?.textContent?.includes('진행 중 이탈 2건'),
      `${card} [data-role="open-excursions"]`,
    );
    expect(await page.evaluate(() => (globalThis as any).sameDocument)).toBe(true);
    await page.locator(card).screenshot({ path: `${ARTIFACTS}/dashboard-temperature-live-ko.png` });
    await useLanguage(page, 'en');
    expect(await page.textContent(`${card} [data-role="temperature-state"]`)).toContain('Warning · out of range (high)');
    await page.locator(card).screenshot({ path: `${ARTIFACTS}/dashboard-temperature-en.png` });
    noProblems(watched);

    await uvis.api.request('POST', `/api/v1/dispatches/${dispatchId}/cancel`, { token: admin, json: {} });
  });

  it('updates a dispatch’s latest temperature and its state live as readings are posted, without reloading', async () => {
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriverAccount(uvis.api, admin);
    // CHILLED: 0 to 10 °C.
    const order = await createOrder(uvis.api, admin, { pickup_address: '경기도 평택시 포승읍 3', delivery_address: '광주광역시 광산구 4' });
    const created = await assign(uvis.api, admin, order.id, vehicle.id, driver.driverId);
    expect(created.status, created.text).toBe(201);
    const dispatchId = created.body.id as number;

    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    await useLanguage(page, 'ko');
    const card = `#dispatches li[data-dispatch-id="${dispatchId}"]`;
    await page.waitForSelector(`${card} [data-role="temperature"][data-level="NONE"]`);

    // From here the list endpoint answers with this snapshot (no reading yet) and the page must not
    // reload: only the live `temperature` event can bring the new values to the card.
    const frozen = await uvis.api.get('/api/v1/dashboard/dispatches', dispatcherToken);
    expect(frozen.body.items.find((d: any) => d.id === dispatchId).latest_reading).toBeNull();
    await page.route('**/api/v1/dashboard/dispatches*', (route) => route.fulfill({ json: frozen.body, headers: { 'cache-control': 'no-store' } }));
    await page.evaluate(() => ((globalThis as any).sameDocument = true));
    const postReading = async (temperatureC: number) => {
      const res = await uvis.api.post(
        '/api/v1/mobile/temperatures',
        { readings: [{ recorded_at: new Date().toISOString(), temperature_c: temperatureC }] },
        driver.token,
      );
      expect(res.status, res.text).toBe(202);
    };
    const valueIs = (text: string) =>
      page.waitForFunction(([sel, expected]) => (globalThis as any).document.querySelector(sel)?.textContent === expected, [
        `${card} [data-role="temperature-value"]`,
        text,
      ] as const);

    await postReading(4.2);
    await valueIs('4.2 °C');
    expect(await page.getAttribute(`${card} [data-role="temperature"]`, 'data-level')).toBe('IN_RANGE');
    expect(await page.textContent(`${card} [data-role="temperature-state"]`)).toContain('정상');

    await postReading(13.5);
    await valueIs('13.5 °C');
    expect(await page.getAttribute(`${card} [data-role="temperature"]`, 'data-level')).toBe('WARNING');
    expect(await page.textContent(`${card} [data-role="temperature-state"]`)).toContain('경고 · 기준 이탈 (높음)');
    expect(await page.textContent(`${card} [data-role="temperature-state"]`)).not.toContain('정상');

    expect(await page.evaluate(() => (globalThis as any).sameDocument)).toBe(true);
    noProblems(watched);
    await page.unroute('**/api/v1/dashboard/dispatches*');
    await uvis.api.request('POST', `/api/v1/dispatches/${dispatchId}/cancel`, { token: admin, json: {} });
  });

  it('switches to English and back, and leaves screenshots of both (laptop and tablet)', async () => {
    const watched = await signedIn(DEMO_ADMIN);
    const { page } = watched;
    await useLanguage(page, 'ko');
    // Admins get the Bull Board link.
    await page.waitForSelector('#bull-board-link[href="/admin/queues"]');
    await page.waitForSelector('#queues tr[data-queue="orders"]');
    await page.waitForSelector('#map g.marker');
    expect(await page.textContent('#orders-title')).toBe('주문');
    // "Load more" shows only when there is a next page.
    expect(await page.isVisible('#orders button[data-i18n="orders.more"]')).toBe(false);
    // A job's state reads in the page's language.
    const job = await uvis.running.deps.queues.orders.add('order.changed', { eventId: 1, orderId: 1, change: 'updated' });
    await page.selectOption('#job-lookup select', 'orders');
    await page.fill('#job-lookup input[name="job_id"]', job.id!);
    await page.click('#job-lookup button[type="submit"]');
    await page.waitForFunction(() => ['완료', '대기', '처리 중'].includes((globalThis as any).document.querySelector('[data-role="job-state"]')?.textContent));
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-ko.png`, fullPage: true });

    await useLanguage(page, 'en');
    expect(await page.textContent('#orders-title')).toBe('Orders');
    expect(await page.textContent('#queues-title')).toBe('Queue health');
    expect(await page.textContent('#live-state')).toBe('Live');
    expect(await page.title()).toBe('UVIS dispatch dashboard');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-en.png`, fullPage: true });

    await useLanguage(page, 'ko');
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-tablet-ko.png`, fullPage: true });
    // Nothing overflows sideways on a tablet.
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth)).toBe(true);
    noProblems(watched);
  });
});
