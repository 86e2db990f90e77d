/** Shared pieces of the fault-injection tests: fixtures over SQL, counts, and the report line each test prints. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/knex.js';
import { hashPassword } from '../../lib/passwords.js';
import { ApiClient } from './api-client.js';

export function report(scenario: string, facts: Record<string, unknown>): void {
  console.log(
    `[chaos] ${scenario}: ${Object.entries(facts)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(', ')}`,
  );
}

/** Drivers with accounts, made directly in the database (hashing once), then signed in through the API. */
export async function driverTokens(db: Db, api: ApiClient, count: number): Promise<{ driverId: number; token: string }[]> {
  const password = 'chaos-driver-password';
  const hash = await hashPassword(password);
  const tag = randomBytes(3).toString('hex');
  const drivers: { driverId: number; email: string }[] = [];
  for (let i = 0; i < count; i++) {
    const [driver] = await db('drivers')
      .insert({ name: `카오스 ${tag} ${i}` })
      .returning('id');
    const email = `chaos-${tag}-${i}@example.com`;
    await db('users').insert({ email, password_hash: hash, role: 'driver', driver_id: driver.id });
    drivers.push({ driverId: driver.id, email });
  }
  const result: { driverId: number; token: string }[] = [];
  for (const d of drivers) result.push({ driverId: d.driverId, token: await api.login({ email: d.email, password }) });
  return result;
}

export async function countRows(db: Db, table: string, where: (q: ReturnType<Db>) => unknown = () => {}): Promise<number> {
  const query = db(table);
  where(query);
  return Number((await query.count<{ c: string }[]>('* as c'))[0]!.c);
}

/** Points of these drivers: total rows and distinct (driver, key) pairs, which must be equal (exactly once). */
export async function storedPoints(db: Db, driverIds: number[]): Promise<{ rows: number; distinct: number }> {
  const { rows } = await db.raw(
    `select count(*)::int as rows, count(distinct (driver_id, point_key))::int as distinct from vehicle_locations where driver_id = any(?)`,
    [driverIds],
  );
  return { rows: rows[0].rows, distinct: rows[0].distinct };
}
