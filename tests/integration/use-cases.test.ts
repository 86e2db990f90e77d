/**
 * The use-cases, called directly as a job or the dashboard would (no HTTP): each write
 * and its outbox rows commit together, a refusal changes nothing, and follow-ups (the
 * relay's kick, cache invalidation) run only after the commit.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache, cacheNames } from '../../lib/cache.js';
import { ConflictError, NotFoundError } from '../../lib/errors/index.js';
import { closeRedis, type RedisClient } from '../../lib/redis.js';
import { assignDispatch, cancelOrder, changeDispatchStatus, type Actor } from '../../use-cases/dispatches.js';
import { changeOrder, createOrder } from '../../use-cases/orders.js';
import { transaction } from '../../use-cases/transaction.js';
import { useTestDb } from '../helpers/databases.js';
import { deleteRedisPrefix, newPrefix, testRedis } from '../helpers/uvis.js';

const test = useTestDb();
const prefix = newPrefix();
let redis: RedisClient;
let kicks = 0;
const deps = () => ({
  db: test.db,
  cache: new Cache(redis, prefix, pino({ level: 'silent' })),
  log: pino({ level: 'silent' }),
  // The outbox relay's kick: counted, so a test sees whether the commit happened.
  relay: { kick: () => void (kicks += 1) },
});

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await closeRedis(redis);
  await deleteRedisPrefix(prefix);
});

const ADMIN_ID = 1;
const STAFF: Actor = { kind: 'staff', userId: ADMIN_ID };
const order = {
  client_id: 1,
  pickup_address: '서울특별시 강남구 테헤란로 1',
  delivery_address: '부산광역시 해운대구 우동 1',
  cargo_type: 'CHILLED' as const,
  weight_kg: 100,
};

/** The outbox rows written for one order and its dispatches, oldest first. */
async function outboxOf(orderId: number) {
  const rows: { job_name: string; payload: Record<string, unknown> }[] = await test.db('outbox').orderBy('id').select('job_name', 'payload');
  return rows
    .filter((r) => r.payload.orderId === orderId)
    .map((r) => (r.job_name === 'order.changed' ? `order:${r.payload.change}` : `dispatch:${r.payload.from ?? '-'}>${r.payload.to}`));
}

async function freeVehicleAndDriver(): Promise<{ vehicleId: number; driverId: number }> {
  const [vehicle] = await test
    .db('vehicles')
    .insert({
      license_plate: `U${Date.now() % 1e7}${Math.floor(Math.random() * 100)}`,
      vehicle_type: 'REFRIGERATED',
      cargo_classes: ['CHILLED', 'FROZEN'],
      capacity_kg: 5000,
    })
    .returning('id');
  const [driver] = await test.db('drivers').insert({ name: '테스트 기사' }).returning('id');
  return { vehicleId: vehicle.id, driverId: driver.id };
}

describe('use-cases', () => {
  it('cancelling an ASSIGNED order cancels its dispatch, and both announcements follow the assignment in order', async () => {
    const d = deps();
    const created = await transaction(d, (tx) => createOrder(tx, d, order, ADMIN_ID));
    const { vehicleId, driverId } = await freeVehicleAndDriver();
    const dispatch = await transaction(d, (tx) => assignDispatch(tx, d, { orderId: created.id, vehicleId, driverId, by: ADMIN_ID }));
    const cancelled = await transaction(d, (tx) => cancelOrder(tx, d, created.id, ADMIN_ID, 'customer called'));

    expect(cancelled.status).toBe('CANCELLED');
    const after = await test.db('dispatches').where({ id: dispatch.id }).first();
    expect(after.status).toBe('CANCELLED');
    expect(after.finished_at).not.toBeNull();
    expect(await outboxOf(created.id)).toEqual(['order:created', 'dispatch:->ASSIGNED', 'order:status', 'dispatch:ASSIGNED>CANCELLED', 'order:cancelled']);
    // The vehicle and driver are free again.
    const next = await transaction(d, (tx) => createOrder(tx, d, order, ADMIN_ID));
    await expect(transaction(d, (tx) => assignDispatch(tx, d, { orderId: next.id, vehicleId, driverId, by: ADMIN_ID }))).resolves.toMatchObject({
      status: 'ASSIGNED',
    });
  });

  it('a refused cancellation or change writes nothing and runs no follow-up', async () => {
    const d = deps();
    const created = await transaction(d, (tx) => createOrder(tx, d, order, ADMIN_ID));
    const { vehicleId, driverId } = await freeVehicleAndDriver();
    const dispatch = await transaction(d, (tx) => assignDispatch(tx, d, { orderId: created.id, vehicleId, driverId, by: ADMIN_ID }));
    await transaction(d, (tx) => changeDispatchStatus(tx, d, { dispatchId: dispatch.id, to: 'PICKED_UP', actor: STAFF, same: 'no-op' }));
    const outboxBefore = await outboxOf(created.id);
    const orderBefore = await test.db('orders').where({ id: created.id }).first();
    const kicksBefore = kicks;

    await expect(transaction(d, (tx) => cancelOrder(tx, d, created.id, ADMIN_ID, null))).rejects.toMatchObject({ status: 409, code: 'order_not_cancellable' });
    await expect(transaction(d, (tx) => changeOrder(tx, d, created.id, { weight_kg: 5 }))).rejects.toMatchObject({ status: 409, code: 'order_not_pending' });
    await expect(
      transaction(d, (tx) => changeDispatchStatus(tx, d, { dispatchId: dispatch.id, to: 'ACCEPTED', actor: STAFF, same: 'no-op' })),
    ).rejects.toBeInstanceOf(ConflictError);

    expect(await outboxOf(created.id)).toEqual(outboxBefore);
    expect(await test.db('orders').where({ id: created.id }).first()).toEqual(orderBefore);
    expect(kicks).toBe(kicksBefore);
  });

  it("a driver's change of another driver's dispatch is refused as not found, and the same status twice is a no-op or a conflict as asked", async () => {
    const d = deps();
    const created = await transaction(d, (tx) => createOrder(tx, d, order, ADMIN_ID));
    const { vehicleId, driverId } = await freeVehicleAndDriver();
    const dispatch = await transaction(d, (tx) => assignDispatch(tx, d, { orderId: created.id, vehicleId, driverId, by: ADMIN_ID }));

    await expect(
      transaction(d, (tx) =>
        changeDispatchStatus(tx, d, {
          dispatchId: dispatch.id,
          to: 'ACCEPTED',
          actor: { kind: 'driver', userId: ADMIN_ID, driverId: driverId + 1000 },
          same: 'no-op',
        }),
      ),
    ).rejects.toBeInstanceOf(NotFoundError);
    const same = await transaction(d, (tx) =>
      changeDispatchStatus(tx, d, { dispatchId: dispatch.id, to: 'ASSIGNED', actor: { kind: 'driver', userId: ADMIN_ID, driverId }, same: 'no-op' }),
    );
    expect(same.changed).toBe(false);
    expect(same.order.status).toBe('ASSIGNED');
    await expect(
      transaction(d, (tx) => changeDispatchStatus(tx, d, { dispatchId: dispatch.id, to: 'ASSIGNED', actor: STAFF, same: 'conflict' })),
    ).rejects.toMatchObject({
      status: 409,
      code: 'invalid_transition',
    });
    expect(await outboxOf(created.id)).toEqual(['order:created', 'dispatch:->ASSIGNED', 'order:status']);
  });

  it('invalidates the cached counts only after the change has committed', async () => {
    const d = deps();
    const generation = async () => Number((await redis.get(`${prefix}:cache:{${cacheNames.orderStatusCounts()}}:gen`)) ?? 0);
    const before = await generation();
    let inside: number | undefined;
    await transaction(d, async (tx) => {
      const row = await createOrder(tx, d, order, ADMIN_ID);
      inside = await generation();
      return row;
    });
    expect(inside).toBe(before);
    expect(await generation()).toBe(before + 1);
  });
});
