/** Dispatch creation refusals, status transitions, object-level checks and role boundaries, over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DISPATCHER, waitFor } from '../helpers/api-client.js';
import { assign, createDriverAccount, createOrder, createVehicle, createDriver } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;

/** Waits until another session of this test database is blocked on a lock. */
async function waitForLockWait(db: TestUvis['running']['deps']['db']) {
  await waitFor(
    async () => {
      const { rows } = await db.raw(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`);
      return rows.length > 0 ? true : undefined;
    },
    { what: 'a session waiting on a lock' },
  );
}
let admin: string;
let dispatcher: string;

const counts = async () => {
  const db = uvis.running.deps.db;
  const [d, o, h] = await Promise.all([
    db('dispatches').count<{ count: string }[]>('* as count'),
    db('outbox').count<{ count: string }[]>('* as count'),
    db('orders').select('id', 'status').orderBy('id'),
  ]);
  return { dispatches: Number(d[0]!.count), outbox: Number(o[0]!.count), orders: h };
};

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  admin = await uvis.api.login();
  dispatcher = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

/** A new driver with his own account, a new vehicle and order, and the order assigned to them. */
async function assignedDispatch() {
  const driver = await createDriverAccount(uvis.api, admin);
  const v = await createVehicle(uvis.api, admin);
  const order = await createOrder(uvis.api, dispatcher);
  const dispatch = (await assign(uvis.api, dispatcher, order.id, v.id, driver.driverId)).body;
  return { driver, order, dispatch };
}

describe('dispatch creation refusals (409 with the reason; nothing written)', () => {
  const expectRefused = async (orderId: number, vehicleId: number, driverId: number, code: string) => {
    const before = await counts();
    const res = await assign(uvis.api, dispatcher, orderId, vehicleId, driverId);
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe('dispatch_refused');
    expect(res.body.error.details.map((d: { code: string }) => d.code)).toContain(code);
    expect(res.body.error.message).toMatch(/assignment refused/);
    expect(await counts()).toEqual(before);
  };

  it('refuses an order that is not PENDING', async () => {
    const v = await createVehicle(uvis.api, admin);
    const d = await createDriver(uvis.api, admin);
    const order = await createOrder(uvis.api, dispatcher);
    expect((await assign(uvis.api, dispatcher, order.id, v.id, d.id)).status).toBe(201);
    const v2 = await createVehicle(uvis.api, admin);
    const d2 = await createDriver(uvis.api, admin);
    await expectRefused(order.id, v2.id, d2.id, 'order_not_pending');
  });

  it('refuses an inactive vehicle and an inactive driver', async () => {
    const v = await createVehicle(uvis.api, admin);
    const d = await createDriver(uvis.api, admin);
    expect((await uvis.api.post(`/api/v1/vehicles/${v.id}/deactivate`, undefined, admin)).status).toBe(200);
    const order = await createOrder(uvis.api, dispatcher);
    await expectRefused(order.id, v.id, d.id, 'vehicle_inactive');
    const v2 = await createVehicle(uvis.api, admin);
    expect((await uvis.api.post(`/api/v1/drivers/${d.id}/deactivate`, undefined, admin)).status).toBe(200);
    await expectRefused(order.id, v2.id, d.id, 'driver_inactive');
  });

  it('refuses a vehicle or a driver busy on another active dispatch', async () => {
    const v = await createVehicle(uvis.api, admin);
    const d = await createDriver(uvis.api, admin);
    const first = await createOrder(uvis.api, dispatcher);
    expect((await assign(uvis.api, dispatcher, first.id, v.id, d.id)).status).toBe(201);
    const second = await createOrder(uvis.api, dispatcher);
    await expectRefused(second.id, v.id, (await createDriver(uvis.api, admin)).id, 'vehicle_busy');
    await expectRefused(second.id, (await createVehicle(uvis.api, admin)).id, d.id, 'driver_busy');
  });

  it('refuses an order heavier than the vehicle can carry', async () => {
    const v = await createVehicle(uvis.api, admin, { capacity_kg: 1000 });
    const order = await createOrder(uvis.api, dispatcher, { weight: 1000.5 });
    await expectRefused(order.id, v.id, (await createDriver(uvis.api, admin)).id, 'capacity_exceeded');
  });

  it('refuses a vehicle that cannot hold the cargo class', async () => {
    const dry = await createVehicle(uvis.api, admin, { vehicle_type: 'DRY' });
    const order = await createOrder(uvis.api, dispatcher, { cargo_type: '냉동' });
    await expectRefused(order.id, dry.id, (await createDriver(uvis.api, admin)).id, 'cargo_class_unsupported');
  });

  it("keeps a vehicle's cargo classes to what its type can hold, each once", async () => {
    const reefer = await createVehicle(uvis.api, admin, { cargo_classes: ['냉장', 'CHILLED', 'FROZEN'] });
    expect((await uvis.api.get(`/api/v1/vehicles/${reefer.id}`, admin)).body.cargo_classes).toEqual(['CHILLED', 'FROZEN']);
    const dryFrozen = await uvis.api.post(
      '/api/v1/vehicles',
      { license_plate: '99다9999', vehicle_type: 'DRY', cargo_classes: ['냉동'], capacity_kg: 1000 },
      admin,
    );
    expect(dryFrozen.status).toBe(400);
    expect(dryFrozen.body.error.details).toEqual([{ field: 'body.cargo_classes', message: 'a DRY vehicle cannot carry FROZEN' }]);
    const patch = (body: object) => uvis.api.request('PATCH', `/api/v1/vehicles/${reefer.id}`, { json: body, token: admin });
    expect((await patch({ vehicle_type: 'DRY', cargo_classes: ['FROZEN'] })).status).toBe(400);
    expect(await uvis.running.deps.db('vehicles').where({ license_plate: '99다9999' })).toEqual([]);
    expect((await uvis.api.get(`/api/v1/vehicles/${reefer.id}`, admin)).body).toMatchObject({
      vehicle_type: 'REFRIGERATED',
      cargo_classes: ['CHILLED', 'FROZEN'],
    });
    // A reefer can also run unchilled; a new type alone takes that type's defaults.
    expect((await patch({ cargo_classes: ['AMBIENT'] })).body.cargo_classes).toEqual(['AMBIENT']);
    expect((await patch({ vehicle_type: 'FREEZER' })).body.cargo_classes).toEqual(['FROZEN']);
  });

  it('answers 404 for an unknown order, vehicle or driver', async () => {
    const order = await createOrder(uvis.api, dispatcher);
    expect((await assign(uvis.api, dispatcher, 999_999, 1, 1)).status).toBe(404);
    expect((await assign(uvis.api, dispatcher, order.id, 999_999, 1)).status).toBe(404);
    expect((await assign(uvis.api, dispatcher, order.id, 1, 999_999)).status).toBe(404);
  });

  it('lets only one of two simultaneous assignments of the same vehicle through', async () => {
    const v = await createVehicle(uvis.api, admin);
    const [a, b] = [await createOrder(uvis.api, dispatcher), await createOrder(uvis.api, dispatcher)];
    const [d1, d2] = [await createDriver(uvis.api, admin), await createDriver(uvis.api, admin)];
    const results = await Promise.all([assign(uvis.api, dispatcher, a.id, v.id, d1.id), assign(uvis.api, dispatcher, b.id, v.id, d2.id)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });
});

describe('status transitions reported by the driver', () => {
  const put = (id: number, status: string, token: string) => uvis.api.request('PUT', `/api/v1/mobile/dispatches/${id}/status`, { json: { status }, token });

  it('moves forward (with skips) and the order follows at once', async () => {
    const { driver, order, dispatch } = await assignedDispatch();
    const orderStatus = async () => (await uvis.api.get(`/api/v1/orders/${order.id}`, dispatcher)).body.status;
    expect(await orderStatus()).toBe('ASSIGNED');
    expect((await put(dispatch.id, 'ACCEPTED', driver.token)).body.order_status).toBe('ASSIGNED');
    const inTransit = await put(dispatch.id, 'IN_TRANSIT', driver.token);
    expect(inTransit.status).toBe(200);
    expect(inTransit.body.status).toBe('IN_TRANSIT');
    expect(await orderStatus()).toBe('IN_TRANSIT');
    expect((await put(dispatch.id, 'DELIVERED', driver.token)).status).toBe(200);
    expect(await orderStatus()).toBe('COMPLETED');
  });

  it('a delivered dispatch can only complete: no cancel or failure reopens its order', async () => {
    const { driver, order, dispatch } = await assignedDispatch();
    expect((await put(dispatch.id, 'DELIVERED', driver.token)).status).toBe(200);
    const before = await counts();
    const failed = await put(dispatch.id, 'FAILED', driver.token);
    expect(failed.status).toBe(409);
    expect(failed.body.error).toMatchObject({ code: 'invalid_transition', details: { from: 'DELIVERED', to: 'FAILED' } });
    const cancelled = await uvis.api.post(`/api/v1/dispatches/${dispatch.id}/cancel`, { reason: 'late' }, dispatcher);
    expect(cancelled.status).toBe(409);
    expect(cancelled.body.error).toMatchObject({ code: 'invalid_transition', details: { from: 'DELIVERED', to: 'CANCELLED' } });
    expect(await counts()).toEqual(before);
    expect((await uvis.api.get(`/api/v1/orders/${order.id}`, dispatcher)).body.status).toBe('COMPLETED');
    // The order is not PENDING, so it cannot be dispatched a second time.
    const other = await createVehicle(uvis.api, admin);
    const otherDriver = await createDriverAccount(uvis.api, admin);
    expect((await assign(uvis.api, dispatcher, order.id, other.id, otherDriver.driverId)).status).toBe(409);
    expect((await put(dispatch.id, 'COMPLETED', driver.token)).status).toBe(200);
  });

  it('refuses every backward move and any change after the end, with 409 and nothing changed', async () => {
    const { driver, dispatch } = await assignedDispatch();
    expect((await put(dispatch.id, 'PICKED_UP', driver.token)).status).toBe(200);
    for (const back of ['ACCEPTED', 'ASSIGNED']) {
      const res = await put(dispatch.id, back, driver.token);
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'invalid_transition', details: { from: 'PICKED_UP', to: back } });
    }
    expect((await put(dispatch.id, 'COMPLETED', driver.token)).status).toBe(200);
    const before = await counts();
    for (const next of ['ACCEPTED', 'PICKED_UP', 'IN_TRANSIT', 'DELIVERED', 'FAILED']) {
      expect((await put(dispatch.id, next, driver.token)).status).toBe(409);
    }
    expect(await counts()).toEqual(before);
    // The same status again is not a change: 200, nothing written.
    expect((await put(dispatch.id, 'COMPLETED', driver.token)).status).toBe(200);
    expect(await counts()).toEqual(before);
  });

  it('refuses a status a driver may not set and an unknown one (400)', async () => {
    const driver = await createDriverAccount(uvis.api, admin);
    expect((await put(1, 'CANCELLED', driver.token)).status).toBe(400);
    expect((await put(1, 'TELEPORTED', driver.token)).status).toBe(400);
  });

  it('a cancelled dispatch returns the order to PENDING and cannot move again', async () => {
    const { driver, order, dispatch } = await assignedDispatch();
    const cancelled = await uvis.api.post(`/api/v1/dispatches/${dispatch.id}/cancel`, { reason: '차량 고장' }, dispatcher);
    expect(cancelled.status).toBe(200);
    expect((await uvis.api.get(`/api/v1/orders/${order.id}`, dispatcher)).body.status).toBe('PENDING');
    expect((await put(dispatch.id, 'ACCEPTED', driver.token)).status).toBe(409);
    expect((await uvis.api.post(`/api/v1/dispatches/${dispatch.id}/cancel`, {}, dispatcher)).status).toBe(409);
  });
});

describe('concurrent changes to one delivery', () => {
  it.each([
    ['a driver status report', 'status'],
    ['a dispatch cancellation', 'cancel'],
  ])('%s waits on the order lock before taking the dispatch, as order cancellation does (no deadlock)', async (_label, change) => {
    const { driver, order, dispatch } = await assignedDispatch();
    const db = uvis.running.deps.db;
    const trx = await db.transaction();
    try {
      // Hold the order as order cancellation does, then send the change.
      await trx('orders').where({ id: order.id }).forUpdate().first();
      const sent =
        change === 'status'
          ? uvis.api.request('PUT', `/api/v1/mobile/dispatches/${dispatch.id}/status`, { json: { status: 'ACCEPTED' }, token: driver.token })
          : uvis.api.post(`/api/v1/dispatches/${dispatch.id}/cancel`, {}, dispatcher);
      // The change is waiting on the order lock ...
      await waitForLockWait(db);
      // ... and has not taken the dispatch, so this transaction can still lock it, as cancellation would.
      await trx.raw('select id from dispatches where id = ? for update nowait', [dispatch.id]);
      await trx.commit();
      const res = await sent;
      expect(res.status, res.text).toBe(200);
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
  });
});

describe('a driver reaches only his own dispatches', () => {
  it("cannot see or change another driver's dispatch", async () => {
    const mine = await createDriverAccount(uvis.api, admin);
    const other = await createDriverAccount(uvis.api, admin);
    const v = await createVehicle(uvis.api, admin);
    const order = await createOrder(uvis.api, dispatcher);
    const theirs = (await assign(uvis.api, dispatcher, order.id, v.id, other.driverId)).body;
    const before = await counts();
    const res = await uvis.api.request('PUT', `/api/v1/mobile/dispatches/${theirs.id}/status`, { json: { status: 'COMPLETED' }, token: mine.token });
    expect(res.status).toBe(404);
    expect(await counts()).toEqual(before);
    expect((await uvis.api.get('/api/v1/mobile/dispatches', mine.token)).body).toEqual([]);
    const listed = (await uvis.api.get('/api/v1/mobile/dispatches', other.token)).body;
    expect(listed.map((d: { id: number }) => d.id)).toEqual([theirs.id]);
    expect(listed[0].order.pickup_address).toContain('강남구');
  });
});

describe('role boundaries', () => {
  it.each([
    ['driver', 'POST', '/api/v1/orders', 403],
    ['driver', 'GET', '/api/v1/orders', 403],
    ['driver', 'GET', '/api/v1/orders/1', 403],
    ['driver', 'POST', '/api/v1/dispatches', 403],
    ['driver', 'GET', '/api/v1/dispatches', 403],
    ['driver', 'GET', '/api/v1/vehicles', 403],
    ['driver', 'GET', '/api/v1/drivers/1/locations', 403],
    ['driver', 'GET', '/api/v1/jobs/orders/1', 403],
    ['driver', 'POST', '/api/v1/users', 403],
    ['dispatcher', 'POST', '/api/v1/vehicles', 403],
    ['dispatcher', 'PATCH', '/api/v1/vehicles/1', 403],
    ['dispatcher', 'POST', '/api/v1/drivers/1/deactivate', 403],
    ['dispatcher', 'POST', '/api/v1/clients', 403],
    ['dispatcher', 'GET', '/api/v1/users', 403],
    ['dispatcher', 'GET', '/api/v1/mobile/dispatches', 403],
    ['dispatcher', 'POST', '/api/v1/mobile/location', 403],
    ['dispatcher', 'GET', '/api/v1/orders', 200],
    ['dispatcher', 'GET', '/api/v1/vehicles', 200],
    ['dispatcher', 'GET', '/api/v1/drivers/1', 200],
    ['driver', 'GET', '/api/v1/mobile/summary', 200],
    ['admin', 'GET', '/api/v1/users', 200],
    ['anonymous', 'GET', '/api/v1/orders', 401],
    ['anonymous', 'GET', '/api/v1/mobile/dispatches', 401],
  ] as const)('%s %s %s -> %i', async (role, method, path, status) => {
    const token =
      role === 'anonymous'
        ? undefined
        : role === 'admin'
          ? admin
          : role === 'dispatcher'
            ? dispatcher
            : await uvis.api.login({ email: 'driver2@example.com', password: 'driverpass' });
    const json = method === 'GET' ? undefined : {};
    const res = await uvis.api.request(method, path, { token, json });
    expect(res.status, res.text).toBe(status);
  });
});
