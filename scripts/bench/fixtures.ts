/**
 * Benchmark data: a fresh database with the demo fleet plus many driver accounts,
 * each with its own token (load comes from many drivers, as in real use).
 */
import { Redis } from 'ioredis';
import { createDatabase, databaseUrl, dropDatabase, withAdminConnection } from '../../db/ensure-database.js';
import { loadDemoData } from '../../db/demo-data.js';
import { createDb } from '../../db/knex.js';
import { migrateLatest } from '../../db/migrate.js';
import { hashPassword } from '../../lib/passwords.js';
import { deleteKeysWithPrefix } from '../../lib/redis.js';

export const BENCH_PASSWORD = 'bench-driver-password';

/** The order every benchmark fixture carries (client 1, the demo data's), before its status. */
export const BENCH_ORDER = {
  client_id: 1,
  pickup_address: '서울특별시 강남구 테헤란로 1',
  delivery_address: '부산광역시 해운대구 1',
  cargo_type: 'CHILLED',
  weight_kg: 100,
} as const;

/** A new database `name` (dropped first if it exists), migrated, with the demo data unless `demoData` is false. Returns its URL. */
export async function freshDatabase(baseUrl: string, name: string, { demoData = true } = {}): Promise<string> {
  await withAdminConnection(baseUrl, async (client) => {
    await dropDatabase(client, name);
    await createDatabase(client, name);
  });
  const url = databaseUrl(baseUrl, name);
  const db = createDb({ url, poolMin: 0, poolMax: 2, statementTimeoutMs: 120_000 });
  try {
    await migrateLatest(db);
    if (demoData) await loadDemoData(db);
  } finally {
    await db.destroy();
  }
  return url;
}

/**
 * Creates `count` drivers with sign-ins (one shared hash: hashing is not what is measured) and an
 * active dispatch each. Their orders carry given coordinates, so every GPS batch evaluates
 * geofences, unless `geofences` is false (BENCH_GEOFENCES=off): orders without coordinates, whose
 * batches find no geofenced dispatch (the cost of the feature measured against its absence).
 */
export async function createDrivers(url: string, count: number, { geofences = process.env.BENCH_GEOFENCES !== 'off' } = {}): Promise<string[]> {
  const db = createDb({ url, poolMin: 0, poolMax: 2, statementTimeoutMs: 120_000 });
  try {
    const hash = await hashPassword(BENCH_PASSWORD);
    const emails: string[] = [];
    await db.transaction(async (trx) => {
      for (let i = 0; i < count; i++) {
        const [vehicle] = await trx('vehicles')
          .insert({ license_plate: `B${100000 + i}`, vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED', 'FROZEN'], capacity_kg: 5000 })
          .returning('id');
        const [driver] = await trx('drivers')
          .insert({ name: `벤치 기사 ${i}`, vehicle_id: vehicle.id })
          .returning('id');
        const email = `bench-driver-${i}@example.com`;
        await trx('users').insert({ email, password_hash: hash, role: 'driver', driver_id: driver.id });
        const [order] = await trx('orders')
          .insert({
            ...BENCH_ORDER,
            status: 'ASSIGNED',
            // Given coordinates (a geofence each): the benchmark's points start at the pickup, so
            // every stored batch evaluates its drivers' geofences (use-cases/geofences.ts).
            ...(geofences ? { pickup_lat: 37.5, pickup_lng: 127.0, delivery_lat: 35.1631, delivery_lng: 129.1635 } : {}),
          })
          .returning('id');
        await trx('dispatches').insert({ order_id: order.id, vehicle_id: vehicle.id, driver_id: driver.id, status: 'ASSIGNED' });
        emails.push(email);
      }
    });
    return emails;
  } finally {
    await db.destroy();
  }
}

export async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: email, password }),
  });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Deletes every Redis key of a benchmark's prefix (its queues, caches and limits). */
export async function clearRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
