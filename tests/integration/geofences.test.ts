/**
 * Geofences end to end (issue 16): GPS points posted over HTTP are stored by the locations worker,
 * which evaluates the dispatch's geofences once per batch; arrivals and departures are listed
 * (GET /dispatches/:id/events), announced once through the outbox (dispatch.arrived /
 * dispatch.departed, in the transaction that stores them), published live, and offered to the driver
 * as suggested_status; they never change a status. Orders whose coordinates were estimated from
 * the address get no geofence.
 */
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveChannel } from '../../lib/live-events.js';
import { evaluateDispatchGeofences } from '../../use-cases/geofences.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { backdatedDispatch, createDriverAccount } from '../helpers/fixtures.js';
import { baseUrls } from '../helpers/databases.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all', env: { OUTBOX_POLL_MS: '100' } });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

const db = () => uvis.running.deps.db;
const M_PER_DEG = (6371008.8 * Math.PI) / 180;
const PICKUP = { lat: 37.5006, lng: 127.0364 };
const DROPOFF = { lat: 35.1689, lng: 129.1361 };
const MINUTE = 60_000;

/** A point `m` metres north of the pickup, recorded `secondsAgo` ago. */
const near = (m: number, recordedAt: number, accuracy = 10) => ({
  latitude: PICKUP.lat + m / M_PER_DEG,
  longitude: PICKUP.lng,
  recorded_at: new Date(recordedAt).toISOString(),
  accuracy,
});

/** An ASSIGNED dispatch of an order with client-given coordinates, created an hour ago (so recent fixes belong to it). */
async function geofencedDispatch(
  orderOverrides: Record<string, unknown> = { pickup_lat: PICKUP.lat, pickup_lng: PICKUP.lng, delivery_lat: DROPOFF.lat, delivery_lng: DROPOFF.lng },
) {
  const { driver, dispatchId, orderId } = await backdatedDispatch(uvis.api, db(), admin, 60 * MINUTE, orderOverrides);
  return { driver, dispatchId, orderId };
}

/** Posts the points as one offline buffer and waits until the worker stored and evaluated them. */
async function postPoints(token: string, points: unknown[]) {
  const res = await uvis.api.post('/api/v1/mobile/locations', { points }, token);
  expect(res.status, res.text).toBe(202);
  await waitFor(async () => (await uvis.running.deps.queues.locations.getJobState(res.body.job_id)) === 'completed', {
    what: `locations job ${res.body.job_id}`,
  });
}

const eventsOf = (dispatchId: number, token = dispatcher) => uvis.api.get(`/api/v1/dispatches/${dispatchId}/events`, token);

const outboxOf = async (dispatchId: number) =>
  (await db()('outbox')
    .whereIn('job_name', ['dispatch.arrived', 'dispatch.departed'])
    .whereRaw(`(payload->>'dispatchId')::bigint = ?`, [dispatchId])
    .orderBy('id')
    .select('job_name', 'payload', 'published_at')) as { job_name: string; payload: Record<string, unknown>; published_at: Date | null }[];

async function mobileItem(token: string, dispatchId: number) {
  const res = await uvis.api.get('/api/v1/mobile/dispatches', token);
  expect(res.status, res.text).toBe(200);
  return (res.body as { id: number; status: string; suggested_status: string | null }[]).find((d) => d.id === dispatchId)!;
}

describe('geofences over HTTP', () => {
  it('points posted near the pickup give one arrival, one outbox event, one live event, one signed webhook and one suggested status; the status is unchanged', async () => {
    const receiver = await startReceiver();
    const endpoint = await uvis.api.post(
      '/api/v1/webhooks/endpoints',
      { url: receiver.url('/arrivals'), events: ['dispatch.arrived', 'dispatch.departed'] },
      admin,
    );
    expect(endpoint.status, endpoint.text).toBe(201);
    const subscriber = new Redis(baseUrls().redisUrl);
    const live: Record<string, unknown>[] = [];
    await subscriber.subscribe(liveChannel(uvis.config.redisPrefix));
    subscriber.on('message', (_channel, message) => {
      const event = JSON.parse(message);
      if (event.type === 'geofence') live.push(event);
    });
    try {
      const { driver, dispatchId, orderId } = await geofencedDispatch();
      expect((await mobileItem(driver.token, dispatchId)).suggested_status).toBeNull();
      const t0 = Date.now() - 20 * MINUTE;
      // Approaching every 10 s (about 36 km/h): 900, 600, 300, 140 (first inside), 80, 40, 30, 30 m.
      const approach = [900, 600, 300, 140, 80, 40, 30, 30].map((m, i) => near(m, t0 + i * 10_000));
      await postPoints(driver.token, approach.slice(0, 5));
      await postPoints(driver.token, approach.slice(5));
      // The same buffer again (a phone retrying without a key): stored once, evaluated again, nothing new.
      await postPoints(driver.token, approach);

      const list = await eventsOf(dispatchId);
      expect(list.status, list.text).toBe(200);
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0]).toMatchObject({ dispatch_id: dispatchId, site: 'PICKUP', kind: 'ARRIVED', at: new Date(t0 + 30_000).toISOString() });
      expect(list.body.items[0].distance_m).toBeCloseTo(140, 0);

      const outbox = await outboxOf(dispatchId);
      expect(outbox.map((r) => r.job_name)).toEqual(['dispatch.arrived']);
      expect(outbox[0]!.payload).toMatchObject({
        geofenceEventId: list.body.items[0].id,
        dispatchId,
        orderId,
        driverId: driver.driverId,
        site: 'PICKUP',
        at: new Date(t0 + 30_000).toISOString(),
        suggestedStatus: 'PICKED_UP',
      });

      // The shipper's webhook: one outbox event of the type, one delivery, verified with the standardwebhooks library.
      const webhookEvents = await db()('outbox')
        .where('job_name', 'webhook.event')
        .whereRaw(`payload->'data'->>'dispatch_id' = ?`, [String(dispatchId)]);
      expect(webhookEvents.map((r) => r.payload.type).filter((t: string) => t.startsWith('dispatch.a'))).toEqual(['dispatch.assigned', 'dispatch.arrived']);
      const mine = () =>
        receiver
          .received('/arrivals')
          .map((r) => new Webhook(endpoint.body.secret).verify(r.body, r.headers) as { type: string; data: Record<string, unknown> })
          .filter((e) => e.data.dispatch_id === dispatchId);
      await waitFor(async () => mine().length >= 1, { what: 'the dispatch.arrived webhook' });
      expect(mine()).toEqual([
        expect.objectContaining({
          type: 'dispatch.arrived',
          data: expect.objectContaining({ order_id: orderId, site: 'PICKUP', at: new Date(t0 + 30_000).toISOString() }),
        }),
      ]);

      await waitFor(async () => live.length >= 1, { what: 'the live geofence event' });
      expect(live).toEqual([
        expect.objectContaining({ type: 'geofence', dispatch_id: dispatchId, site: 'PICKUP', kind: 'ARRIVED', suggested_status: 'PICKED_UP' }),
      ]);

      const item = await mobileItem(driver.token, dispatchId);
      expect(item).toMatchObject({ status: 'ASSIGNED', suggested_status: 'PICKED_UP' });
      expect((await db()('dispatches').where({ id: dispatchId }).first()).status).toBe('ASSIGNED');

      // The driver follows the suggestion: it disappears at once.
      const picked = await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatchId}/status`, { json: { status: 'PICKED_UP' }, token: driver.token });
      expect(picked.status, picked.text).toBe(200);
      expect((await mobileItem(driver.token, dispatchId)).suggested_status).toBeNull();
      expect(live).toHaveLength(1);
    } finally {
      await subscriber.quit();
      await receiver.close();
    }
  });

  it('a departure posted before the arrival that preceded it (an offline buffer uploaded late) gives both, in time order, each announced once', async () => {
    const { driver, dispatchId } = await geofencedDispatch();
    const t0 = Date.now() - 30 * MINUTE;
    const stay = [600, 300, 100, 50, 50, 60].map((m, i) => near(m, t0 + i * 10_000));
    const leave = [120, 250, 400, 700, 1000].map((m, i) => near(m, t0 + 60_000 + i * 10_000));
    await postPoints(driver.token, leave);
    expect((await eventsOf(dispatchId)).body.items).toEqual([]);
    await postPoints(driver.token, stay);

    const list = await eventsOf(dispatchId);
    expect(list.body.items.map((e: { site: string; kind: string; at: string }) => [e.site, e.kind, e.at])).toEqual([
      ['PICKUP', 'ARRIVED', new Date(t0 + 20_000).toISOString()],
      ['PICKUP', 'DEPARTED', new Date(t0 + 70_000).toISOString()],
    ]);
    expect((await outboxOf(dispatchId)).map((r) => r.job_name)).toEqual(['dispatch.arrived', 'dispatch.departed']);
    expect(await mobileItem(driver.token, dispatchId)).toMatchObject({ status: 'ASSIGNED', suggested_status: 'IN_TRANSIT' });
  });

  it('a run split over two posts (one fix inside in each) arrives once, dated at the first post; the same post again changes nothing', async () => {
    // The worker reads the stored fixes before a batch and takes the batch's own from memory:
    // the arrival needs the first post's fix (stored) and the second's (in memory) together.
    const { driver, dispatchId } = await geofencedDispatch();
    const t0 = Date.now() - 20 * MINUTE;
    await postPoints(driver.token, [near(800, t0), near(100, t0 + 30_000)]);
    expect((await eventsOf(dispatchId)).body.items).toEqual([]);
    const second = [near(60, t0 + 60_000)];
    await postPoints(driver.token, second);
    const expected = [['PICKUP', 'ARRIVED', new Date(t0 + 30_000).toISOString()]];
    const items = (await eventsOf(dispatchId)).body.items.map((e: { site: string; kind: string; at: string }) => [e.site, e.kind, e.at]);
    expect(items).toEqual(expected);
    await postPoints(driver.token, second);
    expect((await eventsOf(dispatchId)).body.items.map((e: { site: string; kind: string; at: string }) => [e.site, e.kind, e.at])).toEqual(expected);
    expect((await outboxOf(dispatchId)).map((r) => r.job_name)).toEqual(['dispatch.arrived']);
  });

  it('fixes with poor accuracy near the pickup record nothing', async () => {
    const { driver, dispatchId } = await geofencedDispatch();
    const t0 = Date.now() - 10 * MINUTE;
    await postPoints(
      driver.token,
      [50, 40, 30, 30].map((m, i) => near(m, t0 + i * 10_000, 150)),
    );
    expect((await eventsOf(dispatchId)).body.items).toEqual([]);
    expect(await outboxOf(dispatchId)).toEqual([]);
  });

  it('an order whose coordinates the worker estimated from the address has no geofence', async () => {
    const { driver, dispatchId, orderId } = await geofencedDispatch({});
    const order = await waitFor(
      async () => {
        const row = await db()('orders').where({ id: orderId }).first();
        return row.pickup_lat !== null ? row : undefined;
      },
      { what: 'the estimated pickup' },
    );
    expect(order.pickup_estimated).toBe(true);
    const t0 = Date.now() - 10 * MINUTE;
    const atCentre = (i: number) => ({
      latitude: order.pickup_lat,
      longitude: order.pickup_lng,
      recorded_at: new Date(t0 + i * 10_000).toISOString(),
      accuracy: 5,
    });
    await postPoints(driver.token, [0, 1, 2, 3].map(atCentre));
    expect((await eventsOf(dispatchId)).body.items).toEqual([]);
    expect(await outboxOf(dispatchId)).toEqual([]);
    expect((await mobileItem(driver.token, dispatchId)).suggested_status).toBeNull();
  });

  it('concurrent evaluations of one dispatch store one row and announce it once', async () => {
    const { driver, dispatchId } = await geofencedDispatch();
    const t0 = Date.now() - 10 * MINUTE;
    // Stored directly, without the worker, so that only the evaluations below see them.
    await db()('vehicle_locations').insert(
      [50, 40, 30].map((m, i) => ({
        driver_id: driver.driverId,
        latitude: near(m, 0).latitude,
        longitude: PICKUP.lng,
        accuracy_m: 5,
        recorded_at: new Date(t0 + i * 10_000),
        received_at: new Date(),
        point_key: `c:${i}`,
      })),
    );
    const unit = { db: db(), log: uvis.running.deps.log, relay: { kick() {} } };
    const announced = await Promise.all(Array.from({ length: 5 }, () => evaluateDispatchGeofences(unit, dispatchId, new Date(t0 - MINUTE))));
    expect(announced.sort()).toEqual([0, 0, 0, 0, 1]);
    expect(await db()('geofence_events').where({ dispatch_id: dispatchId }).count<{ count: string }[]>('* as count')).toEqual([{ count: 1 }]);
    expect((await outboxOf(dispatchId)).map((r) => r.job_name)).toEqual(['dispatch.arrived']);
  });

  it("GET /dispatches/:id/events: staff and the dispatch's driver; another driver gets 404; a bad id is a 400", async () => {
    const { driver, dispatchId } = await geofencedDispatch();
    const other = await createDriverAccount(uvis.api, admin);
    expect((await eventsOf(dispatchId, admin)).status).toBe(200);
    expect((await eventsOf(dispatchId, driver.token)).status).toBe(200);
    expect((await eventsOf(dispatchId, other.token)).status).toBe(404);
    expect((await eventsOf(999_999_999)).status).toBe(404);
    const bad = await uvis.api.get('/api/v1/dispatches/abc/events', dispatcher);
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.error.code).toBeDefined();
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.details[0].field).toBe('params.id');
    expect((await uvis.api.get(`/api/v1/dispatches/${dispatchId}/events`)).status).toBe(401);
  });
});
