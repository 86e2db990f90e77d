/** Migrations run forward on an empty database and again on a migrated one; demo data loads once. */
import { afterAll, describe, expect, it } from 'vitest';
import { loadDemoData } from '../../db/demo-data.js';
import { createDb, type Db } from '../../db/knex.js';
import { insertPoints } from '../../db/locations.js';
import { migrateLatest, pendingMigrations } from '../../db/migrate.js';
import { dropPartitionsBefore } from '../../db/partitions.js';
import { migrations } from '../../migrations/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function emptyDatabase(): Promise<{ db: Db; database: TestDatabase }> {
  const database = await createTestDatabase(null);
  const db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 30_000 });
  cleanups.push(
    () => database.drop(),
    () => db.destroy(),
  );
  return { db, database };
}

describe('migrations', () => {
  it('run forward on an empty database, then again without error or change', async () => {
    const { db } = await emptyDatabase();
    expect(await pendingMigrations(db)).toEqual(migrations.map((m) => m.name));
    expect(await migrateLatest(db)).toEqual(migrations.map((m) => m.name));
    const tables = await db('pg_tables').where('schemaname', 'public').pluck('tablename');
    expect(tables).toEqual(
      expect.arrayContaining([
        'users',
        'clients',
        'drivers',
        'vehicles',
        'orders',
        'dispatches',
        'dispatch_status_history',
        'vehicle_locations',
        'driver_positions',
        'outbox',
        'idempotency_keys',
        'sessions',
        'refresh_tokens',
      ]),
    );
    expect(await migrateLatest(db)).toEqual([]);
    expect(await pendingMigrations(db)).toEqual([]);
  });

  it("has the seed's indexes and the unique licence plate", async () => {
    const { db } = await emptyDatabase();
    await migrateLatest(db);
    const indexes = await db('pg_indexes').where('schemaname', 'public').pluck('indexname');
    expect(indexes).toEqual(
      expect.arrayContaining([
        'orders_status_idx',
        'orders_created_at_id_idx',
        'orders_status_created_at_id_idx',
        'dispatches_status_idx',
        'dispatches_driver_id_idx',
        'vehicles_license_plate_key',
        'orders_address_trgm_idx',
      ]),
    );
    await db('vehicles').insert({ license_plate: '12가0001', vehicle_type: 'DRY', cargo_classes: ['AMBIENT'], capacity_kg: 1 });
    await expect(db('vehicles').insert({ license_plate: '12가0001', vehicle_type: 'DRY', cargo_classes: ['AMBIENT'], capacity_kg: 1 })).rejects.toThrow(
      /duplicate key/,
    );
  });

  it('demo data loads once: a second load changes nothing', async () => {
    const { db } = await emptyDatabase();
    await migrateLatest(db);
    const first = await loadDemoData(db);
    expect(first.inserted).toBeGreaterThan(15);
    const snapshot = async () => ({
      users: await db('users').orderBy('id').select('id', 'email', 'role', 'driver_id', 'password_hash'),
      vehicles: await db('vehicles').orderBy('id').select('*'),
      drivers: await db('drivers').orderBy('id').select('*'),
      clients: await db('clients').orderBy('id').select('*'),
      orders: await db('orders').orderBy('id').select('*'),
    });
    const before = await snapshot();
    expect(before.users.find((u) => u.email === 'test@example.com')).toMatchObject({ id: 1, role: 'admin', driver_id: 1 });
    expect(before.vehicles[0]).toMatchObject({ id: 1, vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED', 'FROZEN'] });
    expect(before.clients[0]).toMatchObject({ id: 1 });
    expect(before.drivers[0]).toMatchObject({ id: 1, vehicle_id: 1 });
    expect((await loadDemoData(db)).inserted).toBe(0);
    expect(await snapshot()).toEqual(before);
    // New rows continue after the fixed ids.
    const [order] = await db('orders')
      .insert({ client_id: 1, pickup_address: 'a', delivery_address: 'b', cargo_type: 'CHILLED', weight_kg: 1 })
      .returning('id');
    expect(order.id).toBeGreaterThan(before.orders.length);
  });

  it('text stored in decomposed Hangul (NFD) before 0007 is rewritten in NFC, so the NFC search finds it (issue 14)', async () => {
    const { db } = await emptyDatabase();
    await migrateLatest(db);
    const nfd = (text: string) => text.normalize('NFD');
    const [client] = await db('clients')
      .insert({ name: nfd('한빛식품'), address: nfd('서울시 강남구') })
      .returning('id');
    const [order] = await db('orders')
      .insert({ client_id: client.id, pickup_address: nfd('서울시 강남구 1'), delivery_address: nfd('부산시 해운대구 1'), cargo_type: 'CHILLED', weight_kg: 1 })
      .returning('id');
    const vehicle = { vehicle_type: 'DRY', cargo_classes: ['AMBIENT'], capacity_kg: 1 };
    // A plate whose NFC form is taken stays as it was: the migration must not fail on the unique index.
    await db('vehicles').insert([
      { ...vehicle, license_plate: nfd('34나5678') },
      { ...vehicle, license_plate: nfd('56다7890') },
      { ...vehicle, license_plate: '56다7890' },
    ]);
    // Run 0007 again, as on a database written before it.
    await db('knex_migrations').where({ name: '20261129_0007_text_nfc' }).delete();
    expect(await migrateLatest(db)).toEqual(['20261129_0007_text_nfc']);
    expect(await db('orders').where({ id: order.id }).first()).toMatchObject({ pickup_address: '서울시 강남구 1', delivery_address: '부산시 해운대구 1' });
    expect(await db('clients').where({ id: client.id }).first()).toMatchObject({ name: '한빛식품', address: '서울시 강남구' });
    expect(
      await db('vehicles')
        .whereIn('license_plate', ['34나5678', '56다7890', nfd('56다7890')])
        .pluck('license_plate'),
    ).toHaveLength(3);
    expect(await db('orders').whereRaw(`(pickup_address || ' ' || delivery_address) ilike ?`, ['%강남구%']).pluck('id')).toEqual([order.id]);
  });

  it('0017 moves the GPS points and temperature readings of the old tables into the partitioned ones, every row in place (issue 19)', async () => {
    const { db } = await emptyDatabase();
    const upTo16 = migrations.filter((m) => m.name < '20261129_0017');
    const source = (list: typeof migrations) => ({
      getMigrations: () => Promise.resolve(list),
      getMigrationName: (m: (typeof migrations)[number]) => m.name,
      getMigration: (m: (typeof migrations)[number]) => Promise.resolve(m),
    });
    await db.migrate.latest({ migrationSource: source(upTo16) });
    await db.raw(`
      insert into vehicles (license_plate, vehicle_type, cargo_classes, capacity_kg) values ('M1', 'REFRIGERATED', array['CHILLED'], 1000);
      insert into drivers (name, vehicle_id) values ('기사', 1);
      insert into vehicle_locations (driver_id, vehicle_id, latitude, longitude, recorded_at, received_at, point_key)
        select 1, 1, 37, 127, now() - i * interval '1 hour', now(), 'k:old-' || i from generate_series(1, 2000) i;
      insert into temperature_readings (vehicle_id, recorded_at, temperature_c, source)
        select 1, now() - i * interval '1 hour', 4, 'gateway' from generate_series(1, 2000) i;`);
    const rows = async (table: string) => (await db.raw(`select id, recorded_at::text as at, tableoid::regclass::text as p from ?? order by id`, [table])).rows;
    const before = { locations: await rows('vehicle_locations'), readings: await rows('temperature_readings') };
    expect(await migrateLatest(db)).toEqual(['20261129_0017_month_partitions']);
    const after = { locations: await rows('vehicle_locations'), readings: await rows('temperature_readings') };
    const strip = (list: { id: number; at: string }[]) => list.map(({ id, at }) => ({ id, at }));
    expect(strip(after.locations)).toEqual(strip(before.locations));
    expect(strip(after.readings)).toEqual(strip(before.readings));
    expect(new Set(after.locations.map((r: { p: string }) => r.p))).toEqual(new Set(['vehicle_locations_legacy']));
    expect(new Set(after.readings.map((r: { p: string }) => r.p))).toEqual(new Set(['temperature_readings_legacy']));
    const kinds = await db('pg_class').whereIn('relname', ['vehicle_locations', 'temperature_readings']).pluck('relkind');
    expect(kinds).toEqual(['p', 'p']);
    // The parents' indexes were attached to the legacy tables' own (built before the swap), not built twice.
    const legacyIndexes = await db('pg_indexes').where('tablename', 'vehicle_locations_legacy').orderBy('indexname').pluck('indexname');
    expect(legacyIndexes).toEqual([
      'vehicle_locations_legacy_driver_point_key',
      'vehicle_locations_legacy_driver_recorded_idx',
      'vehicle_locations_legacy_id_recorded_key',
      'vehicle_locations_legacy_recorded_brin',
    ]);
    // New rows get ids after the old ones, land in their month, and an old point id is still stored once.
    const maxId = Math.max(...before.locations.map((r: { id: number }) => r.id));
    const [fresh] = await db('vehicle_locations')
      .insert({ driver_id: 1, latitude: 37, longitude: 127, recorded_at: db.raw(`now() + interval '40 days'`), received_at: db.fn.now(), point_key: 'k:new' })
      .returning(['id', db.raw('tableoid::regclass::text as p')]);
    expect(fresh.id).toBeGreaterThan(maxId);
    expect(fresh.p).toMatch(/^vehicle_locations_\d{4}_\d{2}$/);
    expect(
      await insertPoints(db as never, [
        {
          driver_id: 1,
          latitude: 37,
          longitude: 127,
          speed_kmh: null,
          heading_deg: null,
          accuracy_m: null,
          recorded_at: new Date(),
          received_at: new Date(),
          point_key: 'k:old-1',
        },
      ]),
    ).toBe(0);
    // Retention keeps trimming the legacy partition row by row until its whole range is past the cutoff.
    const trimmed = await dropPartitionsBefore(db, 'vehicle_locations', new Date(Date.now() - 1000 * 3_600_000 - 1800_000));
    expect(trimmed).toEqual({ partitionsDropped: [], rowsDeleted: 1000 });
    expect(await migrateLatest(db)).toEqual([]);
  });
});
