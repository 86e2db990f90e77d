/**
 * Webhooks end to end: endpoints through the API, events from real writes through the outbox,
 * deliveries to local receivers, signatures checked with the `standardwebhooks` package that
 * shippers use, retries, 410, timeouts, the delivery log, and no head-of-line blocking.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteFinishedDeliveriesBefore } from '../../db/webhooks.js';
import { decryptSecret } from '../../lib/webhook-secrets.js';
import { evaluateDispatchExcursions } from '../../use-cases/excursions.js';
import { transaction } from '../../use-cases/transaction.js';
import { waitFor } from '../helpers/api-client.js';
import { assign, createDriver, createVehicle } from '../helpers/fixtures.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let uvis: TestUvis;
let receiver: WebhookReceiver;
let admin: string;

const TIMEOUT_MS = 1500;

beforeAll(async () => {
  receiver = await startReceiver();
  uvis = await startTestUvis({
    role: 'all',
    env: {
      WEBHOOK_RETRY_SCHEDULE: '300ms,400ms',
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      // 8 slots, so at most 2 per endpoint: small enough that a dead endpoint could fill them all.
      WEBHOOK_CONCURRENCY: '8',
      OUTBOX_POLL_MS: '100',
    },
  });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
  await receiver?.close();
});

let paths = 0;
const newPath = () => `/hook-${++paths}`;

async function newClient(): Promise<number> {
  const res = await uvis.api.post('/api/v1/clients', { name: `화주 ${paths}-${Date.now()}` }, admin);
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function newEndpoint(path: string, clientId: number | null, events: string[] = ['*']) {
  const res = await uvis.api.post('/api/v1/webhooks/endpoints', { url: receiver.url(path), events, client_id: clientId }, admin);
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number; secret: string };
}

async function newOrder(clientId: number) {
  const res = await uvis.api.post(
    '/api/v1/orders',
    { client_id: clientId, pickup_address: '서울시 강남구 테헤란로 1', delivery_address: '부산시 해운대구 우동 1', cargo_type: '냉장', weight: 100 },
    admin,
  );
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number };
}

const waitReceived = (path: string, n: number, timeoutMs = 10_000) =>
  waitFor(async () => (receiver.received(path).length >= n ? receiver.received(path) : undefined), { timeoutMs, what: `${n} request(s) at ${path}` });

const attempts = async (endpointId: number) => {
  const res = await uvis.api.get(`/api/v1/webhooks/endpoints/${endpointId}/deliveries?limit=200`, admin);
  expect(res.status, res.text).toBe(200);
  return (res.body.items as Record<string, any>[]).reverse();
};

describe('webhook endpoints', () => {
  it('shows the secret once, stores it encrypted, and never lists it', async () => {
    const created = await uvis.api.post(
      '/api/v1/webhooks/endpoints',
      { url: 'https://shipper.example.com/hooks', events: ['order.created'], description: '테스트' },
      admin,
    );
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const { secret, id } = created.body;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body).toMatchObject({ url: 'https://shipper.example.com/hooks', events: ['order.created'], client_id: null, enabled: true });

    const row = await uvis.running.deps.db('webhook_endpoints').where({ id }).first();
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    expect(decryptSecret(uvis.config.webhooks.secretKey, row.secret_enc)).toBe(secret);

    const list = await uvis.api.get('/api/v1/webhooks/endpoints', admin);
    expect(list.body.items.find((e: { id: number }) => e.id === id)).toMatchObject({ id, enabled: true });
    expect(list.text).not.toContain(secret.slice(6));
    const one = await uvis.api.get(`/api/v1/webhooks/endpoints/${id}`, admin);
    expect(one.body).not.toHaveProperty('secret');

    const patched = await uvis.api.request('PATCH', `/api/v1/webhooks/endpoints/${id}`, {
      token: admin,
      json: { enabled: false, events: ['dispatch.assigned'] },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, disabled_reason: 'manual', events: ['dispatch.assigned'] });
    const deleted = await uvis.api.request('DELETE', `/api/v1/webhooks/endpoints/${id}`, { token: admin });
    expect(deleted.status).toBe(204);
    expect((await uvis.api.get(`/api/v1/webhooks/endpoints/${id}`, admin)).status).toBe(404);
  });

  it('refuses bad input with a 400 naming the field, and changes nothing', async () => {
    const before = await databaseFingerprint(uvis.running.deps.db);
    const cases: [unknown, string][] = [
      [{ url: 'ftp://shipper.example.com/x', events: ['*'] }, 'body.url'],
      [{ url: 'http://169.254.169.254/latest/meta-data', events: ['*'] }, 'body.url'],
      [{ url: 'https://shipper.example.com/x', events: ['order.shipped'] }, 'body.events.0'],
      [{ url: 'https://shipper.example.com/x', events: ['*', 'order.created'] }, 'body.events'],
      [{ url: 'https://shipper.example.com/x', events: [] }, 'body.events'],
      [{ url: 'https://shipper.example.com/x', events: ['*'], client_id: 987654 }, 'body.client_id'],
      [{ url: 'https://user:pw@shipper.example.com/x', events: ['*'] }, 'body.url'],
    ];
    for (const [body, field] of cases) {
      const res = await uvis.api.post('/api/v1/webhooks/endpoints', body, admin);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(
        res.body.error.details.map((d: { field: string }) => d.field),
        JSON.stringify(body),
      ).toContain(field);
    }
    expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
  });

  it('is for admins only', async () => {
    const dispatcher = await uvis.api.login({ email: 'dispatcher@example.com', password: 'dispatchpass' });
    expect((await uvis.api.get('/api/v1/webhooks/endpoints', dispatcher)).status).toBe(403);
    expect((await uvis.api.post('/api/v1/webhooks/endpoints', { url: 'https://x.example.com', events: ['*'] }, dispatcher)).status).toBe(403);
  });
});

describe('webhook deliveries', () => {
  it('delivers signed events of the endpoint’s client only, verified by the standardwebhooks library', async () => {
    const clientId = await newClient();
    const otherClient = await newClient();
    const path = newPath();
    const otherPath = newPath();
    const { secret } = await newEndpoint(path, clientId, ['order.created', 'order.status_changed', 'dispatch.assigned']);
    await newEndpoint(otherPath, otherClient);
    const order = await newOrder(clientId);
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriver(uvis.api, admin);
    expect((await assign(uvis.api, admin, order.id, vehicle.id, driver.id)).status).toBe(201);

    const got = await waitReceived(path, 3);
    const wh = new Webhook(secret);
    const events = got.map((r) => wh.verify(r.body, r.headers) as { type: string; timestamp: string; data: Record<string, unknown> });
    expect(events.map((e) => e.type).sort()).toEqual(['dispatch.assigned', 'order.created', 'order.status_changed']);
    expect(events.find((e) => e.type === 'order.created')!.data).toMatchObject({ order_id: order.id, client_id: clientId, status: 'PENDING' });
    expect(events.find((e) => e.type === 'order.status_changed')!.data).toMatchObject({ order_id: order.id, from: 'PENDING', to: 'ASSIGNED' });
    expect(events.find((e) => e.type === 'dispatch.assigned')!.data).toMatchObject({ order_id: order.id, vehicle_id: vehicle.id, driver_id: driver.id });
    for (const r of got) expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f-]{36}$/);
    // A tampered body does not verify: the check above could fail.
    expect(() => wh.verify(got[0]!.body.replace('}', ',"x":1}'), got[0]!.headers)).toThrow();
    // Another client's endpoint heard nothing of this order.
    const other = await uvis.running.deps
      .db('webhook_deliveries as d')
      .join('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .where('e.client_id', otherClient);
    expect(other).toEqual([]);
    expect(receiver.received(otherPath)).toEqual([]);
  });

  it('during a rotation, every delivery verifies with the old secret and with the new one', async () => {
    const clientId = await newClient();
    const path = newPath();
    const { id, secret: oldSecret } = await newEndpoint(path, clientId, ['order.created']);
    const rotated = await uvis.api.request('POST', `/api/v1/webhooks/endpoints/${id}/rotate-secret`, { token: admin });
    expect(rotated.status, rotated.text).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).not.toBe(oldSecret);
    expect(new Date(rotated.body.previous_secret_expires_at).getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
    await newOrder(clientId);
    const [r] = await waitReceived(path, 1);
    expect(r!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(newSecret).verify(r!.body, r!.headers)).toMatchObject({ type: 'order.created' });
    expect(new Webhook(oldSecret).verify(r!.body, r!.headers)).toMatchObject({ type: 'order.created' });
    // Once the overlap is over only the new secret signs.
    await uvis.running.deps
      .db('webhook_endpoints')
      .where({ id })
      .update({ previous_secret_expires_at: new Date(Date.now() - 1000) });
    await newOrder(clientId);
    const [, r2] = await waitReceived(path, 2);
    expect(new Webhook(newSecret).verify(r2!.body, r2!.headers)).toBeTruthy();
    expect(() => new Webhook(oldSecret).verify(r2!.body, r2!.headers)).toThrow();
  });

  it('announces temperature excursions from the evaluation’s own transaction: opened, then closed, once', async () => {
    const clientId = await newClient();
    const path = newPath();
    const { secret } = await newEndpoint(path, clientId, ['temperature.excursion_opened', 'temperature.excursion_closed']);
    const order = await newOrder(clientId);
    const vehicle = await createVehicle(uvis.api, admin);
    const driver = await createDriver(uvis.api, admin);
    const dispatch = await assign(uvis.api, admin, order.id, vehicle.id, driver.id);
    expect(dispatch.status, dispatch.text).toBe(201);
    const { deps } = uvis.running;
    // A chilled load (0..10 °C) at 13 °C for 15 minutes, then back at 4 °C for 10: one HIGH excursion, found closed.
    const start = Date.now() - 60 * 60_000;
    const readings = Array.from({ length: 26 }, (_, i) => ({
      vehicle_id: vehicle.id,
      dispatch_id: dispatch.body.id,
      sensor: 'main',
      recorded_at: new Date(start + i * 60_000),
      temperature_c: i < 15 ? 13 : 4,
      source: 'gateway',
    }));
    await deps.db('temperature_readings').insert(readings);
    const evaluate = () =>
      transaction(deps, (tx) => evaluateDispatchExcursions(tx, { excursions: uvis.config.excursions }, dispatch.body.id, new Date(start + 26 * 60_000)));
    expect((await evaluate())!.changed).toHaveLength(1);
    const got = await waitReceived(path, 2);
    const events = got.map((r) => new Webhook(secret).verify(r.body, r.headers) as { type: string; data: Record<string, unknown> });
    expect(events.map((e) => e.type).sort()).toEqual(['temperature.excursion_closed', 'temperature.excursion_opened']);
    expect(events[0]!.data).toMatchObject({ dispatch_id: dispatch.body.id, order_id: order.id, client_id: clientId, kind: 'HIGH', status: 'CLOSED' });
    // Evaluating the same readings again changes nothing and announces nothing.
    expect((await evaluate())!.changed).toHaveLength(0);
    await deps.relay.relayPending();
    const count = await deps
      .db('outbox')
      .where({ queue: 'webhooks' })
      .whereRaw(`payload->'data'->>'dispatch_id' = ?`, [String(dispatch.body.id)])
      .whereRaw(`payload->>'type' like 'temperature.%'`);
    expect(count).toHaveLength(2);
  });

  it('retries failures and timeouts on the schedule with the same webhook-id, and logs every attempt', async () => {
    const counted = async () =>
      Object.fromEntries(
        (await uvis.running.deps.metrics.registry.getSingleMetric('uvis_webhook_attempts_total')!.get()).values.map((v) => [v.labels.outcome, v.value]),
      );
    const before = await counted();
    const clientId = await newClient();
    const path = newPath();
    // 500, then no answer (a timeout), then 200.
    receiver.on(path, (n) => (n === 0 ? 500 : n === 1 ? 'hang' : 200));
    const { id } = await newEndpoint(path, clientId, ['order.created']);
    await newOrder(clientId);
    const got = await waitReceived(path, 3, 15_000);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    // The body is the same text on every attempt; each attempt is signed at its own time.
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    // Waits of 300 ms and 400 ms (±10 %) after each failure; the second failure first takes the timeout.
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(260);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(TIMEOUT_MS + 350);

    const log = await waitFor(async () => {
      const a = await attempts(id);
      return a.length === 3 && a[2]!.delivery_status === 'SUCCEEDED' ? a : undefined;
    });
    expect(log.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([
      [1, 'retrying', 500],
      [2, 'retrying', null],
      [3, 'succeeded', 200],
    ]);
    expect(log[0]!.error).toContain('HTTP 500');
    expect(log[1]!.error).toContain(`within ${TIMEOUT_MS} ms`);
    expect(log[1]!.duration_ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(log[0]!.next_attempt_at).not.toBeNull();
    expect(log[0]!.webhook_id).toBe(got[0]!.headers['webhook-id']);
    expect(log[2]!.next_attempt_at).toBeNull();
    // uvis_webhook_attempts_total counts them by outcome (other tests' attempts may add to it meanwhile).
    const after = await counted();
    expect((after.retrying ?? 0) - (before.retrying ?? 0)).toBeGreaterThanOrEqual(2);
    expect((after.succeeded ?? 0) - (before.succeeded ?? 0)).toBeGreaterThanOrEqual(1);
  });

  it('a fan-out run again after a crash (first attempt made, retry never queued) continues the schedule: attempt 2, same webhook-id, not before its time', async () => {
    const clientId = await newClient();
    const path = newPath();
    receiver.on(path, () => 200);
    const { id: endpointId } = await newEndpoint(path, clientId, ['order.created']);
    // The state such a crash leaves: the delivery attempted once and pending, and no job for it.
    const eventKey = crypto.randomUUID();
    const due = new Date(Date.now() + 1500);
    const body = JSON.stringify({ type: 'order.created', timestamp: new Date().toISOString(), data: { order_id: 1 } });
    const [delivery] = await uvis.running.deps
      .db('webhook_deliveries')
      .insert({ endpoint_id: endpointId, event_key: eventKey, event_type: 'order.created', body, attempts: 1, last_status_code: 500, next_attempt_at: due })
      .returning('id');
    await uvis.running.deps.queues.webhooks!.add(
      'webhook.event',
      { type: 'order.created', clientId, occurredAt: new Date().toISOString(), data: { order_id: 1 }, eventId: 1, eventKey },
      { jobId: `rerun-${eventKey}` },
    );
    const [got] = await waitReceived(path, 1);
    expect(got!.at).toBeGreaterThanOrEqual(due.getTime() - 50);
    expect(got!.headers['webhook-id']).toBe(`msg_${eventKey}`);
    expect(got!.body).toBe(body);
    const log = await waitFor(async () => {
      const a = (await attempts(endpointId)).filter((x) => x.delivery_id === delivery.id);
      return a.length === 1 && a[0]!.delivery_status === 'SUCCEEDED' ? a : undefined;
    });
    expect(log.map((a) => [a.attempt, a.outcome])).toEqual([[2, 'succeeded']]);
    expect(receiver.received(path)).toHaveLength(1);
  });

  it('gives up after the last scheduled attempt; a manual retry sends it again', async () => {
    const clientId = await newClient();
    const path = newPath();
    let healthy = false;
    receiver.on(path, () => (healthy ? 200 : 503));
    const { id } = await newEndpoint(path, clientId, ['order.created']);
    await newOrder(clientId);
    const log = await waitFor(async () => {
      const a = await attempts(id);
      return a.length === 3 && a[2]!.outcome === 'failed' ? a : undefined;
    });
    expect(log.map((a) => a.outcome)).toEqual(['retrying', 'retrying', 'failed']);
    expect(log[2]!.delivery_status).toBe('FAILED');
    expect(receiver.received(path)).toHaveLength(3);

    healthy = true;
    const retry = await uvis.api.request('POST', `/api/v1/webhooks/deliveries/${log[0]!.delivery_id}/retry`, { token: admin });
    expect(retry.status, retry.text).toBe(202);
    const got = await waitReceived(path, 4);
    expect(got[3]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id']);
    await waitFor(async () => ((await attempts(id)).at(-1)!.delivery_status === 'SUCCEEDED' ? true : undefined));
    expect((await uvis.api.request('POST', '/api/v1/webhooks/deliveries/987654/retry', { token: admin })).status).toBe(404);
  });

  it('410 Gone disables the endpoint at once: no retry, nothing more sent', async () => {
    const clientId = await newClient();
    const path = newPath();
    receiver.on(path, () => 410);
    const { id } = await newEndpoint(path, clientId, ['order.created']);
    await newOrder(clientId);
    await waitFor(async () => ((await uvis.api.get(`/api/v1/webhooks/endpoints/${id}`, admin)).body.enabled === false ? true : undefined));
    const endpoint = (await uvis.api.get(`/api/v1/webhooks/endpoints/${id}`, admin)).body;
    expect(endpoint).toMatchObject({ enabled: false, disabled_reason: 'gone' });
    expect((await attempts(id)).map((a) => a.outcome)).toEqual(['gone']);
    // A later event is not even queued for it; a retry is refused until it is enabled again.
    const marker = newPath();
    await newEndpoint(marker, clientId, ['order.created']);
    await newOrder(clientId);
    await waitReceived(marker, 1);
    expect(receiver.received(path)).toHaveLength(1);
    const retry = await uvis.api.request('POST', `/api/v1/webhooks/deliveries/${(await attempts(id))[0]!.delivery_id}/retry`, { token: admin });
    expect(retry.status).toBe(409);
  });

  it('an endpoint failing for 5 days is disabled and counted for the operator alert', async () => {
    const { db, metrics } = uvis.running.deps;
    const clientId = await newClient();
    const path = newPath();
    receiver.on(path, () => 500);
    const { id } = await newEndpoint(path, clientId, ['order.created']);
    const gauge = async () => (await metrics.registry.getSingleMetric('uvis_webhook_endpoints_auto_disabled')!.get()).values[0]?.value;
    const before = await gauge();
    await db('webhook_endpoints')
      .where({ id })
      .update({ failing_since: new Date(Date.now() - 5 * 24 * 3600_000 - 60_000) });
    await newOrder(clientId);
    await waitFor(async () => ((await uvis.api.get(`/api/v1/webhooks/endpoints/${id}`, admin)).body.disabled_reason === 'failing' ? true : undefined));
    expect((await attempts(id)).map((a) => a.outcome)).toEqual(['failed']);
    // The gauge is read at scrape time (cached for a second).
    await waitFor(async () => ((await gauge()) === (before ?? 0) + 1 ? true : undefined), { what: 'the gauge counting it' });
    // Re-enabling forgets the failures and clears the alert's count.
    const enabled = await uvis.api.request('PATCH', `/api/v1/webhooks/endpoints/${id}`, { token: admin, json: { enabled: true } });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });
    await waitFor(async () => ((await gauge()) === (before ?? 0) ? true : undefined), { what: 'the gauge forgetting it' });
    await uvis.api.request('PATCH', `/api/v1/webhooks/endpoints/${id}`, { token: admin, json: { enabled: false } });
  });

  it('a dead endpoint does not delay a healthy one', async () => {
    const clientId = await newClient();
    const dead = newPath();
    const healthy = newPath();
    receiver.on(dead, () => 'hang');
    const deadEndpoint = await newEndpoint(dead, clientId, ['order.created']);
    const healthyEndpoint = await newEndpoint(healthy, clientId, ['order.created']);
    const EVENTS = 20;
    for (let i = 0; i < EVENTS; i++) await newOrder(clientId);
    await waitReceived(healthy, EVENTS, 20_000);
    const { db } = uvis.running.deps;
    const healthyLast = await db('webhook_attempts').where({ endpoint_id: healthyEndpoint.id }).max('started_at as at').first();
    await waitFor(async () => ((await db('webhook_attempts').where({ endpoint_id: deadEndpoint.id })).length > 0 ? true : undefined), {
      what: "the dead endpoint's first timeout",
    });
    const deadFirstEnd = await db('webhook_attempts')
      .where({ endpoint_id: deadEndpoint.id })
      .first(db.raw(`min(started_at + duration_ms * interval '1 millisecond') as at`));
    // Every healthy delivery started before the dead endpoint's first attempt even timed out:
    // none waited for a slot the dead one held. (Without the per-endpoint limit, its 20 hanging
    // attempts would take all 8 slots and the healthy ones would wait for the timeouts.)
    expect(new Date(healthyLast!.at).getTime()).toBeLessThan(new Date(deadFirstEnd!.at).getTime());
    expect(receiver.received(dead).length).toBeGreaterThan(0);
    await uvis.api.request('PATCH', `/api/v1/webhooks/endpoints/${deadEndpoint.id}`, { token: admin, json: { enabled: false } });
  });

  it('the delivery log of finished deliveries is deleted after the retention; pending ones stay', async () => {
    const { db } = uvis.running.deps;
    const clientId = await newClient();
    const path = newPath();
    const { id } = await newEndpoint(path, clientId, ['order.created']);
    await newOrder(clientId);
    await newOrder(clientId);
    const [done, pending] = await waitFor(async () => {
      const rows = await db('webhook_deliveries').where({ endpoint_id: id, status: 'SUCCEEDED' }).orderBy('id');
      return rows.length === 2 ? rows : undefined;
    });
    const old = new Date(Date.now() - 40 * 86_400_000);
    await db('webhook_deliveries').where({ id: done.id }).update({ updated_at: old });
    await db('webhook_deliveries').where({ id: pending.id }).update({ updated_at: old, status: 'PENDING' });
    expect(await deleteFinishedDeliveriesBefore(db, new Date(Date.now() - uvis.config.webhooks.logRetentionDays * 86_400_000))).toBe(1);
    expect(await db('webhook_deliveries').where({ endpoint_id: id }).pluck('id')).toEqual([pending.id]);
    expect(await db('webhook_attempts').where({ delivery_id: done.id })).toEqual([]);
    expect(await db('webhook_attempts').where({ delivery_id: pending.id })).toHaveLength(1);
  });
});
