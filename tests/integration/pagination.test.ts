/**
 * Keyset pages never skip or repeat a row, even when rows share a millisecond or a
 * whole timestamp: PostgreSQL keeps microseconds, JavaScript dates do not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { listDispatches } from '../../db/dispatches.js';
import type { Db } from '../../db/knex.js';
import { listDriverLocations } from '../../db/locations.js';
import { listOrders } from '../../db/orders.js';
import { encodeCursor } from '../../db/cursor.js';
import { useTestDb } from '../helpers/databases.js';

const testDb = useTestDb();
let db: Db;
const BASE = '2026-11-01 09:00:00.123';
// Twelve rows inside one millisecond, four of them on the very same microsecond.
const MICROS = ['456', '456', '456', '456', '001', '002', '999', '500', '501', '777', '778', '000'];
const STAMPS = MICROS.map((us) => `${BASE}${us}+09`);
// Inserted out of time order, so id order is not time order: ids of each table with their row's microsecond.
const inserted = { orders: [] as { id: number; us: string }[], dispatches: [] as { id: number; us: string }[], points: [] as { id: number; us: string }[] };

/** The expected order, worked out here rather than by the query under test: time, then id. */
function timeOrder(rows: { id: number; us: string }[], direction: 'asc' | 'desc' = 'asc'): number[] {
  const sorted = [...rows].sort((a, b) => a.us.localeCompare(b.us) || a.id - b.id).map((r) => r.id);
  return direction === 'asc' ? sorted : sorted.reverse();
}

beforeAll(async () => {
  db = testDb.db;
  await db('dispatches').del();
  await db('orders').del();
  await db('vehicle_locations').del();
  const [client] = await db('clients').select('id').limit(1);
  const [driver] = await db('drivers').whereNotNull('vehicle_id').select('id', 'vehicle_id').limit(1);
  for (const [i, at] of STAMPS.entries()) {
    const us = MICROS[i]!;
    const [order] = await db('orders')
      .insert({
        client_id: client.id,
        pickup_address: `서울 ${i}`,
        delivery_address: `부산 ${i}`,
        cargo_type: 'CHILLED',
        weight_kg: 10,
        status: 'COMPLETED',
        created_at: db.raw('?::timestamptz', [at]),
      })
      .returning('id');
    const [dispatch] = await db('dispatches')
      .insert({ order_id: order.id, vehicle_id: driver.vehicle_id, driver_id: driver.id, status: 'COMPLETED', created_at: db.raw('?::timestamptz', [at]) })
      .returning('id');
    const [point] = await db('vehicle_locations')
      .insert({
        driver_id: driver.id,
        latitude: 37,
        longitude: 127,
        recorded_at: db.raw('?::timestamptz', [at]),
        received_at: db.fn.now(),
        point_key: `page-${i}`,
      })
      .returning('id');
    inserted.orders.push({ id: order.id, us });
    inserted.dispatches.push({ id: dispatch.id, us });
    inserted.points.push({ id: Number(point.id), us });
  }
});

async function walk(fetchPage: (cursor?: string) => Promise<{ items: { id: number }[]; next_cursor: string | null }>) {
  const seen: number[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const result = await fetchPage(cursor);
    seen.push(...result.items.map((item) => item.id));
    if (!result.next_cursor) return seen;
    cursor = result.next_cursor;
  }
  throw new Error('pagination did not end');
}

describe('keyset pagination', () => {
  it('the rows were inserted out of time order (so id order would not pass for time order)', () => {
    expect(timeOrder(inserted.orders)).not.toEqual([...inserted.orders.map((r) => r.id)].sort((a, b) => a - b));
  });

  it('orders: every row exactly once, oldest first and newest first', async () => {
    const oldestFirst = await walk((cursor) => listOrders(db, { sort: 'created_at', limit: 3, cursor }));
    expect(oldestFirst).toEqual(timeOrder(inserted.orders, 'asc'));
    const newestFirst = await walk((cursor) => listOrders(db, { sort: '-created_at', limit: 3, cursor }));
    expect(newestFirst).toEqual(timeOrder(inserted.orders, 'desc'));
  });

  it('dispatches: every row exactly once, newest first', async () => {
    const seen = await walk((cursor) => listDispatches(db, { limit: 5, cursor }));
    expect(seen).toEqual(timeOrder(inserted.dispatches, 'desc'));
  });

  it('a driver route: every point exactly once, in time order', async () => {
    const [driver] = await db('vehicle_locations').distinct('driver_id');
    const from = new Date('2026-11-01T00:00:00Z');
    const to = new Date('2026-11-02T00:00:00Z');
    const seen = await walk((cursor) => listDriverLocations(db, { driverId: driver.driver_id, from, to, limit: 2, cursor }));
    expect(seen.map(Number)).toEqual(timeOrder(inserted.points, 'asc'));
  });

  it('refuses a cursor whose timestamp is not one', async () => {
    await expect(listOrders(db, { sort: 'created_at', limit: 3, cursor: encodeCursor(['yesterday', 1]) })).rejects.toThrow(/invalid cursor/);
  });
});
