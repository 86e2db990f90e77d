/**
 * Order cancellation and order changes over real HTTP, with workers running: what may be
 * cancelled or changed, what follows (the dispatch of an ASSIGNED order, its history, the
 * vehicle and driver it held), and the 409s that change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../jobs/index.js';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle } from '../helpers/fixtures.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let admin: string;
let dispatcher: string;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'all' });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

const put = (id: number, status: string, token: string) => uvis.api.request('PUT', `/api/v1/mobile/dispatches/${id}/status`, { json: { status }, token });
const cancelOrder = (id: number, body: object = {}) => uvis.api.post(`/api/v1/orders/${id}/cancel`, body, dispatcher);
const patchOrder = (id: number, body: object) => uvis.api.request('PATCH', `/api/v1/orders/${id}`, { json: body, token: dispatcher });
const getOrder = async (id: number) => (await uvis.api.get(`/api/v1/orders/${id}`, dispatcher)).body;
const getDispatch = async (id: number) => (await uvis.api.get(`/api/v1/dispatches/${id}`, dispatcher)).body;

/** A new driver with his own account, a new vehicle and order, and the order assigned to them. */
async function assignedDispatch() {
  const driver = await createDriverAccount(uvis.api, admin);
  const vehicle = await createVehicle(uvis.api, admin);
  const order = await createOrder(uvis.api, dispatcher);
  const res = await assign(uvis.api, dispatcher, order.id, vehicle.id, driver.driverId);
  expect(res.status, res.text).toBe(201);
  return { driver, vehicle, order, dispatch: res.body as { id: number } };
}

/** Waits until every committed change has been relayed and processed, so the database holds still. */
async function settled() {
  const { db, queues } = uvis.running.deps;
  await waitFor(
    async () => {
      const [row] = await db('outbox').whereNull('published_at').count<{ n: string }[]>('* as n');
      if (Number(row?.n) > 0) return undefined;
      for (const name of QUEUE_NAMES) {
        const counts = await queues[name].getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (Object.values(counts).some((c) => c > 0)) return undefined;
      }
      return true;
    },
    { timeoutMs: 20_000, what: 'outbox relayed and queues idle' },
  );
}

/** Sends a request that must be refused with 409 and this code, and proves that it changed nothing. */
async function expectConflict(send: () => Promise<{ status: number; body: any; text: string }>, code: string) {
  await settled();
  const before = await databaseFingerprint(uvis.running.deps.db);
  const res = await send();
  expect(res.status, res.text).toBe(409);
  expect(res.body.error.code).toBe(code);
  await settled();
  expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
  return res;
}

describe('order cancellation', () => {
  it('cancels a PENDING order', async () => {
    const order = await createOrder(uvis.api, dispatcher);
    const res = await cancelOrder(order.id, { reason: '화주 요청' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: order.id, status: 'CANCELLED' });
    expect((await getOrder(order.id)).status).toBe('CANCELLED');
  });

  it('cancels an ASSIGNED order and its dispatch with it: the dispatch ends CANCELLED with its history, the order stays CANCELLED, the vehicle and driver are free', async () => {
    const { driver, vehicle, order, dispatch } = await assignedDispatch();
    expect((await getOrder(order.id)).status).toBe('ASSIGNED');
    expect((await uvis.api.get('/api/v1/mobile/dispatches', driver.token)).body.map((d: { id: number }) => d.id)).toEqual([dispatch.id]);

    const res = await cancelOrder(order.id, { reason: '화주 취소' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe('CANCELLED');

    // The dispatch follows at once, in the same transaction ...
    const cancelled = await getDispatch(dispatch.id);
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.finished_at).toEqual(expect.any(String));
    // ... and its history records the move, with the reason, once the worker has the event.
    const history = await waitFor(
      async () => {
        const h = (await getDispatch(dispatch.id)).history as { from_status: string | null; to_status: string; note: string | null }[];
        return h.some((e) => e.to_status === 'CANCELLED') ? h : undefined;
      },
      { what: 'the cancellation in the dispatch history' },
    );
    expect(history.filter((e) => e.to_status === 'CANCELLED')).toEqual([
      expect.objectContaining({ from_status: 'ASSIGNED', to_status: 'CANCELLED', note: '화주 취소' }),
    ]);

    // Unlike a dispatch cancellation, the order does not return to PENDING: it is over.
    expect((await getOrder(order.id)).status).toBe('CANCELLED');
    const again = await assign(
      uvis.api,
      dispatcher,
      order.id,
      (await createVehicle(uvis.api, admin)).id,
      (await createDriverAccount(uvis.api, admin)).driverId,
    );
    expect(again.status).toBe(409);
    expect(again.body.error.details.map((d: { code: string }) => d.code)).toContain('order_not_pending');

    // The driver no longer sees it and cannot move it; the vehicle and driver take the next order.
    expect((await uvis.api.get('/api/v1/mobile/dispatches', driver.token)).body).toEqual([]);
    expect((await put(dispatch.id, 'ACCEPTED', driver.token)).status).toBe(409);
    const next = await createOrder(uvis.api, dispatcher);
    expect((await assign(uvis.api, dispatcher, next.id, vehicle.id, driver.driverId)).status).toBe(201);
  });

  it.each([
    ['IN_TRANSIT', ['IN_TRANSIT'], 'IN_TRANSIT'],
    ['DELIVERED (the order COMPLETED)', ['DELIVERED'], 'COMPLETED'],
    ['COMPLETED', ['COMPLETED'], 'COMPLETED'],
  ])('refuses with 409 order_not_cancellable an order whose dispatch is %s, changing nothing', async (_label, steps, orderStatus) => {
    const { driver, order, dispatch } = await assignedDispatch();
    for (const status of steps) expect((await put(dispatch.id, status, driver.token)).status).toBe(200);
    expect((await getOrder(order.id)).status).toBe(orderStatus);
    const res = await expectConflict(() => cancelOrder(order.id, { reason: 'too late' }), 'order_not_cancellable');
    expect(res.body.error.message).toContain(orderStatus);
    expect((await getOrder(order.id)).status).toBe(orderStatus);
    expect((await getDispatch(dispatch.id)).status).toBe(steps.at(-1));
  });

  it('refuses with 409 to cancel an order twice', async () => {
    const order = await createOrder(uvis.api, dispatcher);
    expect((await cancelOrder(order.id)).status).toBe(200);
    await expectConflict(() => cancelOrder(order.id), 'order_not_cancellable');
  });

  it('answers 404 for an unknown order', async () => {
    expect((await cancelOrder(999_999)).status).toBe(404);
  });
});

describe('order changes (PATCH)', () => {
  it('changes a PENDING order', async () => {
    const order = await createOrder(uvis.api, dispatcher);
    const res = await patchOrder(order.id, { weight: 250, notes: '하차 시 연락' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: order.id, status: 'PENDING', notes: '하차 시 연락' });
    expect(res.body.weight).toBe(250);
    expect((await getOrder(order.id)).weight).toBe(250);
  });

  it.each([
    ['ASSIGNED', [] as string[]],
    ['IN_TRANSIT', ['IN_TRANSIT']],
    ['COMPLETED', ['COMPLETED']],
  ])('refuses with 409 order_not_pending a change to an order that is %s, changing nothing', async (orderStatus, steps) => {
    const { driver, order, dispatch } = await assignedDispatch();
    for (const status of steps) expect((await put(dispatch.id, status, driver.token)).status).toBe(200);
    expect((await getOrder(order.id)).status).toBe(orderStatus);
    const res = await expectConflict(() => patchOrder(order.id, { weight: 1, delivery_address: '제주특별자치도 제주시 1' }), 'order_not_pending');
    expect(res.body.error.message).toContain(orderStatus);
  });

  it('refuses with 409 order_not_pending a change to a CANCELLED order', async () => {
    const order = await createOrder(uvis.api, dispatcher);
    expect((await cancelOrder(order.id)).status).toBe(200);
    await expectConflict(() => patchOrder(order.id, { notes: '다시 살려 주세요' }), 'order_not_pending');
  });

  it('answers 404 for an unknown order', async () => {
    expect((await patchOrder(999_999, { notes: 'x' })).status).toBe(404);
  });
});
