/** The main list queries use their indexes on tables big enough for the planner to care. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverActiveDispatches, listDispatches } from '../../db/dispatches.js';
import { createDb, type Db } from '../../db/knex.js';
import { geofenceWindows } from '../../db/geofences.js';
import { listDriverLocations } from '../../db/locations.js';
import { monthPartitionName, monthStart } from '../../db/partitions.js';
import { latestReadings, listDispatchReadings } from '../../db/temperatures.js';
import { listOrders } from '../../db/orders.js';
import { trackedOrder } from '../../db/tracking.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { captureQueries, indexesUsed } from '../helpers/explain.js';

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 120_000 });
  // 200 drivers, 50,000 orders with one dispatch each over 90 days, 200,000 GPS points, two geofence events per dispatch.
  await db.raw(`
    insert into vehicles (license_plate, vehicle_type, cargo_classes, capacity_kg)
      select 'Q' || i, 'REFRIGERATED', array['CHILLED'], 5000 from generate_series(1, 200) i;
    insert into drivers (name, vehicle_id) select '기사 ' || i, (select id from vehicles where license_plate = 'Q' || i) from generate_series(1, 200) i;
    insert into orders (client_id, pickup_address, delivery_address, cargo_type, weight_kg, status, created_at)
      select 1, '서울특별시 서초구 ' || i, '부산광역시 사하구 ' || i, 'CHILLED', 10,
             -- As on a carrier's books: orders waiting are few (1 %), most are done.
             case when i % 100 = 0 then 'PENDING' else (array['ASSIGNED','IN_TRANSIT','COMPLETED','COMPLETED','COMPLETED','COMPLETED','CANCELLED'])[1 + i % 7] end,
             now() - (i * interval '150 seconds')
        from generate_series(1, 50000) i;
    insert into dispatches (order_id, vehicle_id, driver_id, status, created_at)
      select o.id, d.vehicle_id, d.id, case when o.status = 'COMPLETED' then 'COMPLETED' when o.status = 'CANCELLED' then 'CANCELLED' else 'COMPLETED' end, o.created_at
        from orders o join drivers d on d.id = 5 + (o.id % 200) where o.id > 3;
    insert into vehicle_locations (driver_id, latitude, longitude, recorded_at, received_at, point_key)
      select 5 + (i % 200), 37, 127, now() - (i * interval '3 seconds'), now(), 'q:' || i from generate_series(1, 200000) i;
    insert into temperature_readings (vehicle_id, dispatch_id, recorded_at, temperature_c, source)
      select d.vehicle_id, d.id, now() - (i * interval '1 minute'), 4, 'gateway'
        from generate_series(1, 100000) i join dispatches d on d.id = 4 + (i % 5000);
    insert into geofence_events (dispatch_id, site, kind, at, latitude, longitude, distance_m)
      select d.id, 'PICKUP', k.kind, d.created_at + k.after, 37, 127, 10
        from dispatches d cross join (values ('ARRIVED', interval '1 hour'), ('DEPARTED', interval '2 hours')) k(kind, after);`);
  // Outside the inserts' implicit transaction: VACUUM cannot run inside one.
  for (const table of ['orders', 'dispatches', 'vehicle_locations', 'temperature_readings', 'geofence_events']) await db.raw(`vacuum analyze ${table}`);
}, 120_000);

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

async function plan(run: () => Promise<unknown>) {
  const [query] = await captureQueries(db, run);
  return indexesUsed(db, query!.sql, query!.bindings);
}

describe('query plans', () => {
  it('orders by status, newest first: the (status, created_at) index', async () => {
    const { indexes, plan: text } = await plan(() => listOrders(db, { status: ['PENDING'], sort: '-created_at', limit: 50 }));
    expect(indexes, text).toContain('orders_status_created_at_id_idx');
    expect(text).not.toContain('Sort');
  });

  it("a tracking page's order and its latest dispatch: one probe of the (order_id) index, not a walk over every dispatch", async () => {
    const { tracking_token: token } = await db('orders').orderBy('id', 'desc').first('tracking_token');
    const { indexes, plan: text } = await plan(() => trackedOrder(db, token));
    expect(indexes, text).toContain('orders_tracking_token_key');
    expect(
      indexes.some((i) => i.startsWith('dispatches_order_id') || i === 'dispatches_one_active_per_order'),
      text,
    ).toBe(true);
    expect(text).not.toMatch(/"Seq Scan".{0,80}"Relation Name":"dispatches"|"Node Type":"Unique"/);
  });

  it('orders in a created range: the (created_at, id) index', async () => {
    const from = new Date(Date.now() - 86_400_000);
    const { indexes, plan: text } = await plan(() => listOrders(db, { createdFrom: from, sort: '-created_at', limit: 50 }));
    expect(indexes, text).toContain('orders_created_at_id_idx');
    expect(text).not.toContain('Sort');
  });

  it("a driver's active dispatches (the mobile list): the (driver_id, status) index, and each one's latest geofence event on its index", async () => {
    const { indexes, plan: text } = await plan(() => driverActiveDispatches(db, 42));
    // Active dispatches are few: a partial index over them, or the driver's own index.
    expect(
      indexes.some((i) => i.startsWith('dispatches_')),
      text,
    ).toBe(true);
    expect(text).not.toMatch(/"Seq Scan".{0,80}"Relation Name":"dispatches"/);
    expect(text).not.toMatch(/"Seq Scan".{0,80}"Relation Name":"geofence_events"/);
  });

  it('dispatches by driver, newest first: the (driver_id, created_at, id) index', async () => {
    const { indexes, plan: text } = await plan(() => listDispatches(db, { driverId: 42, limit: 50 }));
    expect(indexes, text).toContain('dispatches_driver_id_created_at_id_idx');
    expect(text).not.toContain('Sort');
  });

  it("a driver's route replay: the (driver_id, recorded_at, id) index, in the range's month partitions only", async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 3_600_000);
    const { indexes, relations, plan: text } = await plan(() => listDriverLocations(db, { driverId: 42, from, to, limit: 1000 }));
    expect(indexes, text).toContain('vehicle_locations_driver_recorded_idx');
    // Pruned: the month(s) the hour falls in, not the default partition nor the months ahead.
    expect(relations, text).toEqual([...new Set([from, to].map((at) => monthPartitionName('vehicle_locations', monthStart(at))))]);
    expect(text).not.toContain('Seq Scan');
  });

  it("a dispatch's readings in a time range: the (dispatch_id, recorded_at, id) index, in the range's month partitions only", async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 6 * 3_600_000);
    const { indexes, relations, plan: text } = await plan(() => listDispatchReadings(db, { dispatchId: 1000, from, to, limit: 100 }));
    expect(indexes, text).toContain('temperature_readings_dispatch_recorded_idx');
    expect(relations, text).toEqual([...new Set([from, to].map((at) => monthPartitionName('temperature_readings', monthStart(at))))]);
    expect(text).not.toContain('Seq Scan');
  });

  it("each dispatch's latest reading (live temperature events, the dashboard): a backward probe of the (dispatch_id, recorded_at, id) index per partition, no scan", async () => {
    const [query] = await captureQueries(db, () => latestReadings(db, [1000, 2000, 3000]));
    const { indexes, plan: text } = await indexesUsed(db, query!.sql, query!.bindings);
    expect(indexes, text).toContain('temperature_readings_dispatch_recorded_idx');
    expect(text).not.toMatch(/"Seq Scan".{0,80}"Relation Name":"temperature_readings/);
    expect(text).not.toContain('"Sort"');
  });

  it("a GPS batch's geofence windows: the dispatches' active index, each driver's fixes and each dispatch's events on their indexes", async () => {
    const drivers = Array.from({ length: 10 }, (_, i) => ({ driverId: 5 + i * 20, earliest: new Date() }));
    const { indexes, plan: text } = await plan(() => geofenceWindows(db, drivers, { before: 10, maxAccuracyM: 100 }));
    expect(indexes, text).toContain('vehicle_locations_driver_recorded_idx');
    expect(indexes, text).toContain('geofence_events_current_idx');
    expect(text).not.toMatch(/"Seq Scan".{0,80}"Relation Name":"(dispatches|vehicle_locations|geofence_events)"/);
  });

  it('connections run without JIT (a plan compiled for an 8 ms statement took 700 ms)', async () => {
    const { rows } = await db.raw('show jit');
    expect(rows[0].jit).toBe('off');
  });
});
