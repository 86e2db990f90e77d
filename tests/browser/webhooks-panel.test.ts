/**
 * The dashboard's webhooks panel in a real browser (Debian's Chromium, headless) against a live
 * UVIS and a local receiver: an admin registers an endpoint, sees its secret once (and that
 * secret verifies a real delivery with the `standardwebhooks` package shippers use), watches the
 * delivery attempt appear with its HTTP status, retries it, rotates the secret, disables the
 * endpoint (a retry is then refused, in the panel's error style) and deletes it. A dispatcher
 * is not offered the panel at all.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { DEMO_ADMIN, DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { createOrder } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { startReceiver, type Received, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { ensureDashboardBuilt } from './build-dashboard.js';
import { launchBrowser, type TestBrowser, type WatchedPage } from './chromium.js';
import { openSignedIn, useLanguage } from '../helpers/dashboard-page.js';

const ARTIFACTS = projectPath('test-artifacts');
const PATH = '/shipper/uvis-hooks';

let uvis: TestUvis;
let browser: TestBrowser;
let receiver: WebhookReceiver;
let admin: string;
let dispatcherToken: string;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  receiver = await startReceiver();
  // Loopback receivers are allowed outside production (WEBHOOK_ALLOW_PRIVATE defaults to on there).
  const [started] = await Promise.all([startTestUvis({ role: 'all', env: { OUTBOX_POLL_MS: '100' } }), ensureDashboardBuilt()]);
  uvis = started;
  browser = await launchBrowser();
  [admin, dispatcherToken] = await Promise.all([uvis.api.login(DEMO_ADMIN), uvis.api.login(DEMO_DISPATCHER)]);
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.page.close()));
});

afterAll(async () => {
  await browser?.close();
  await uvis?.stop();
  await receiver?.close();
});

const signedIn = (account: { email: string; password: string }): Promise<WatchedPage> => openSignedIn(browser.context, uvis.baseUrl, account, pages);

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').trim();
const waitReceived = (n: number) =>
  waitFor(async () => (receiver.received(PATH).length >= n ? receiver.received(PATH) : undefined), { timeoutMs: 10_000, what: `${n} request(s) at ${PATH}` });
const verify = (secret: string, request: Received) =>
  new Webhook(secret).verify(request.body, request.headers) as { type: string; data: Record<string, unknown> };

describe('webhooks panel', () => {
  it('lets an admin register an endpoint, see its secret once, follow and retry deliveries, rotate, disable and delete it', async () => {
    const client = await uvis.api.get('/api/v1/clients/1', admin);
    expect(client.status, client.text).toBe(200);
    const watched = await signedIn(DEMO_ADMIN);
    const { page } = watched;
    await useLanguage(page, 'ko');
    expect(await text(page, '#webhooks-title')).toBe('웹훅');
    await page.waitForSelector('#webhooks td.empty[data-i18n="webhooks.empty"]');
    expect(await page.isVisible('#webhook-secret')).toBe(false);

    // Every event type is offered, "*" first; choosing "*" turns the others off (the API takes it only alone).
    expect(await page.$$eval('#webhook-create input[name="events"]', (boxes) => boxes.map((b) => (b as any).value))).toEqual([
      '*',
      'order.created',
      'order.status_changed',
      'dispatch.assigned',
      'dispatch.status_changed',
      'dispatch.arrived',
      'dispatch.departed',
      'temperature.excursion_opened',
      'temperature.excursion_closed',
      'proof.added',
    ]);
    await page.check('#webhook-create input[value="*"]');
    expect(await page.isDisabled('#webhook-create input[value="order.created"]')).toBe(true);
    await page.uncheck('#webhook-create input[value="*"]');

    // Nothing chosen: said at once, nothing sent.
    await page.fill('#webhook-create input[name="url"]', receiver.url(PATH));
    await page.click('#webhook-create button[type="submit"]');
    await page.waitForSelector('#webhook-create-result.error');
    expect(await text(page, '#webhook-create-result')).toBe('이벤트를 하나 이상 고르세요.');

    // --- register
    await page.check('#webhook-create input[value="order.created"]');
    await page.selectOption('#webhook-create select[name="client_id"]', '1');
    await page.fill('#webhook-create input[name="description"]', '물류 시스템 <b>테스트</b>');
    await page.click('#webhook-create button[type="submit"]');
    const created = await page.waitForSelector('#webhook-create-result.ok');
    const endpointId = Number(await created.getAttribute('data-endpoint-id'));
    expect(await created.textContent()).toBe(`엔드포인트를 등록했습니다: #${endpointId}`);

    // The secret, once, with the note saying so.
    await page.waitForSelector('#webhook-secret:not([hidden])');
    expect(await text(page, '#webhook-secret [data-role="secret-title"]')).toBe('서명 비밀키 (한 번만 표시됩니다)');
    expect(await text(page, '#webhook-secret [data-role="secret-note"]')).toBe(
      '이 비밀키는 다시 볼 수 없습니다. 지금 복사해 화주 시스템에 저장하세요. 잃어버리면 비밀키를 교체하세요.',
    );
    const secret = await text(page, '#webhook-secret-value');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const row = `#webhooks tr[data-endpoint-id="${endpointId}"]`;
    await page.waitForSelector(`${row}[data-enabled="true"]`);
    expect(await text(page, `${row} [data-role="url"]`)).toBe(receiver.url(PATH));
    expect(await text(page, `${row} [data-role="description"]`)).toBe('물류 시스템 <b>테스트</b>');
    expect(await text(page, `${row} [data-role="events"]`)).toBe('order.created');
    expect(await text(page, `${row} [data-role="client"]`)).toBe(client.body.name);
    expect(await text(page, `${row} [data-role="endpoint-state"]`)).toBe('사용 중');
    expect(await text(page, `${row} [data-role="failing-since"]`)).toBe('–');
    // The new endpoint is selected: its (empty) delivery log shows.
    await page.waitForSelector('#webhook-deliveries td.empty[data-i18n="webhooks.noDeliveries"]');

    // Closing the box forgets the secret: it is nowhere in the page any more.
    await page.click('#webhook-secret-close');
    expect(await page.isVisible('#webhook-secret')).toBe(false);
    expect(await page.content()).not.toContain(secret.slice(6));

    // --- an event: an order for client 1, delivered to the receiver and verified with the secret shown
    const order = await createOrder(uvis.api, dispatcherToken, { client_id: 1 });
    const [first] = await waitReceived(1);
    const event = verify(secret, first!);
    expect(event.type).toBe('order.created');
    expect(event.data.order_id).toBe(order.id);

    // The attempt appears in the panel by itself (no click), with its HTTP status.
    const attempt = await page.waitForSelector('#webhook-deliveries tr[data-attempt-id][data-delivery-status="SUCCEEDED"]');
    const deliveryId = Number(await attempt.getAttribute('data-delivery-id'));
    const attemptRow = `#webhook-deliveries tr[data-delivery-id="${deliveryId}"]`;
    expect(await text(page, `${attemptRow} [data-role="event-type"]`)).toBe('order.created');
    expect(await text(page, `${attemptRow} [data-role="http-status"]`)).toBe('204');
    expect(await text(page, `${attemptRow} [data-role="delivery-status"]`)).toBe('성공');
    expect(await text(page, `${attemptRow} [data-role="outcome"]`)).toBe('2xx 응답');
    expect(await text(page, `${attemptRow} [data-role="error"]`)).toBe('–');
    expect(await text(page, `${attemptRow} [data-role="next-attempt"]`)).toBe('–');
    expect(await text(page, `${attemptRow} [data-role="duration"]`)).toMatch(/^\d[\d,]* ms$/);

    // --- retry: one more attempt with the same webhook-id; only the newest attempt of a delivery has the button
    await page.click(`${attemptRow} button[data-action="retry"]`);
    await page.waitForSelector('#webhook-deliveries-message.ok');
    expect(await text(page, '#webhook-deliveries-message')).toBe(`다시 보내도록 요청했습니다: #${deliveryId}`);
    const [, again] = await waitReceived(2);
    expect(again!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    await page.waitForFunction((sel) => (globalThis as any).document.querySelectorAll(sel).length === 2, `${attemptRow}[data-delivery-status="SUCCEEDED"]`);
    expect(await page.$$eval(`${attemptRow} button[data-action="retry"]`, (b) => b.length)).toBe(1);

    // --- rotate: a new secret, shown once; both secrets sign for the next day
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click(`${row} button[data-action="rotate"]`);
    await page.waitForSelector('#webhook-secret:not([hidden]) [data-role="secret-overlap"]');
    const rotated = await text(page, '#webhook-secret-value');
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    expect(await text(page, '#webhooks-message')).toBe(`비밀키를 교체했습니다: #${endpointId}`);
    const second = await createOrder(uvis.api, dispatcherToken, { client_id: 1 });
    const [, , third] = await waitReceived(3);
    expect(verify(rotated, third!).data.order_id).toBe(second.id);
    expect(verify(secret, third!).data.order_id).toBe(second.id);

    // --- disable: marked disabled, and why
    await page.click(`${row} button[data-action="disable"]`);
    await page.waitForSelector(`${row}[data-enabled="false"]`);
    expect(await text(page, '#webhooks-message')).toBe(`엔드포인트를 중지했습니다: #${endpointId}`);
    expect(await text(page, `${row} [data-role="endpoint-state"]`)).toBe('중지됨');
    expect(await text(page, `${row} [data-role="disabled-reason"] [data-i18n]`)).toBe('관리자가 중지함');
    expect(await text(page, `${row} button[data-action="enable"]`)).toBe('다시 사용');

    // A retry to a disabled endpoint is refused: the API's 409 in the panel's error style.
    await page.click(`${attemptRow} button[data-action="retry"]`);
    await page.waitForSelector('#webhook-deliveries-message.error');
    expect(await text(page, '#webhook-deliveries-message')).toBe(`요청이 실패했습니다: endpoint ${endpointId} is disabled: enable it first`);

    await useLanguage(page, 'en');
    expect(await text(page, '#webhooks-title')).toBe('Webhooks');
    expect(await text(page, `${row} [data-role="endpoint-state"]`)).toBe('Disabled');
    expect(await text(page, `${row} [data-role="disabled-reason"] [data-i18n]`)).toBe('disabled by an admin');
    expect(await text(page, `${attemptRow} [data-role="delivery-status"]`)).toBe('Succeeded');
    expect(await text(page, '#webhook-secret [data-role="secret-title"]')).toBe('Signing secret (shown once)');
    await (await page.$('#webhooks'))!.screenshot({ path: `${ARTIFACTS}/dashboard-webhooks-en.png` });
    await useLanguage(page, 'ko');

    // --- delete, after a confirmation
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await page.click(`${row} button[data-action="delete"]`);
    await page.waitForSelector(row, { state: 'detached' });
    expect(asked).toBe('이 엔드포인트를 삭제할까요? 더 이상 아무것도 보내지 않습니다 (전송 기록은 남습니다).');
    expect(await text(page, '#webhooks-message')).toBe(`엔드포인트를 삭제했습니다: #${endpointId}`);
    // Its secret box went with it, and so did the selection.
    expect(await page.isVisible('#webhook-secret')).toBe(false);
    expect(await text(page, '#webhook-deliveries-for')).toBe('엔드포인트의 [전송 기록]을 누르면 여기에 표시됩니다.');
    expect((await uvis.api.get(`/api/v1/webhooks/endpoints/${endpointId}`, admin)).status).toBe(404);
    expect(watched.problems).toEqual([]);
  });

  it('pages through the delivery log with "more"', async () => {
    const path = '/shipper/paged';
    const res = await uvis.api.post('/api/v1/webhooks/endpoints', { url: receiver.url(path), events: ['order.created'], client_id: 2 }, admin);
    expect(res.status, res.text).toBe(201);
    const endpointId = res.body.id as number;
    for (let i = 0; i < 23; i++) await createOrder(uvis.api, dispatcherToken, { client_id: 2 });
    await waitFor(async () => {
      const log = await uvis.api.get(`/api/v1/webhooks/endpoints/${endpointId}/deliveries?limit=200`, admin);
      return log.body.items.length >= 23 ? true : undefined;
    });

    const watched = await signedIn(DEMO_ADMIN);
    const { page } = watched;
    await page.click(`#webhooks tr[data-endpoint-id="${endpointId}"] button[data-action="deliveries"]`);
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#webhook-deliveries tr[data-attempt-id]').length === 20);
    await page.click('#webhook-deliveries-more');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#webhook-deliveries tr[data-attempt-id]').length === 23);
    expect(await page.isVisible('#webhook-deliveries-more')).toBe(false);
    expect(watched.problems).toEqual([]);
  });

  it('is not offered to a dispatcher, whom the API refuses too', async () => {
    const watched = await signedIn(DEMO_DISPATCHER);
    const { page } = watched;
    await page.waitForSelector('#orders-title');
    expect(await page.$('#webhooks')).toBeNull();
    expect(await page.$('#webhook-create')).toBeNull();
    expect(await page.textContent('main')).not.toContain('웹훅');
    expect((await uvis.api.get('/api/v1/webhooks/endpoints', dispatcherToken)).status).toBe(403);
    expect(watched.problems).toEqual([]);
  });
});
