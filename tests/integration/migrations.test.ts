/** Migrations run forward on an empty database and again on a migrated one; demo data loads once. */
import { afterAll, describe, expect, it } from 'vitest';
import { loadDemoData } from '../../db/demo-data.js';
import { createDb, type Db } from '../../db/knex.js';
import { migrateLatest, pendingMigrations } from '../../db/migrate.js';
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
});
