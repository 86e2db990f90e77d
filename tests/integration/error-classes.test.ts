/** Real PostgreSQL failures map to the status a client can act on. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../db/knex.js';
import { AppError, ConflictError, classifyError } from '../../lib/errors/index.js';
import type { ApiResponse } from '../helpers/api-client.js';
import { useTestDb } from '../helpers/databases.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const testDb = useTestDb();

const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('classifyError on real PostgreSQL errors', () => {
  it('a deadlock is a 503 to retry after one second', async () => {
    const { db } = testDb;
    const [a, b] = await db('clients').pluck('id').limit(2);
    const one = await db.transaction();
    const two = await db.transaction();
    try {
      await one('clients').where({ id: a }).forUpdate();
      await two('clients').where({ id: b }).forUpdate();
      // Each now waits for the other: PostgreSQL picks a victim after deadlock_timeout.
      const errors = await Promise.all([caught(one('clients').where({ id: b }).forUpdate()), caught(two('clients').where({ id: a }).forUpdate())]);
      const victim = errors.find(Boolean) as { code?: string };
      expect(victim.code).toBe('40P01');
      const classified = classifyError(victim) as AppError;
      expect(classified).toBeInstanceOf(AppError);
      expect(classified.status).toBe(503);
      expect(classified.headers).toEqual({ 'Retry-After': '1' });
    } finally {
      await one.rollback().catch(() => {});
      await two.rollback().catch(() => {});
    }
  });

  it('a CHECK constraint is a 422 naming the field; the constraint is kept for the logs only', async () => {
    const { db } = testDb;
    const err = await caught(db('vehicles').insert({ license_plate: 'CHK-1', vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED'], capacity_kg: -1 }));
    const classified = classifyError(err) as AppError;
    expect(classified.status).toBe(422);
    expect(classified.code).toBe('constraint_violated');
    expect(classified.details).toEqual({ field: 'capacity_kg' });
    expect(classified.internal).toMatchObject({ constraint: 'vehicles_capacity_kg_check', sqlstate: '23514' });
  });

  it('a duplicate natural key is a 409 duplicate naming the field; the unique index is kept for the logs only', async () => {
    const { db } = testDb;
    const plate = `DUP-${Date.now()}`;
    await db('vehicles').insert({ license_plate: plate, vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED'], capacity_kg: 1000 });
    const err = await caught(db('vehicles').insert({ license_plate: plate, vehicle_type: 'DRY', cargo_classes: ['AMBIENT'], capacity_kg: 500 }));
    expect((err as { code?: string }).code).toBe('23505');
    const classified = classifyError(err) as AppError;
    expect(classified).toBeInstanceOf(ConflictError);
    expect(classified.status).toBe(409);
    expect(classified.code).toBe('duplicate');
    expect(classified.details).toEqual({ field: 'license_plate' });
    expect(classified.internal).toMatchObject({ constraint: 'vehicles_license_plate_key', table: 'vehicles' });
  });

  it('a reference to a row that does not exist is a 422 invalid_reference naming the field; the foreign key is kept for the logs only', async () => {
    const { db } = testDb;
    const err = await caught(
      db('orders').insert({
        client_id: 999_999,
        pickup_address: '서울시 중구 1',
        delivery_address: '인천시 남동구 1',
        cargo_type: 'CHILLED',
        weight_kg: 10,
        status: 'PENDING',
      }),
    );
    expect((err as { code?: string }).code).toBe('23503');
    const classified = classifyError(err) as AppError;
    expect(classified.status).toBe(422);
    expect(classified.code).toBe('invalid_reference');
    expect(classified.details).toEqual({ field: 'client_id' });
    expect(classified.internal).toMatchObject({ constraint: 'orders_client_id_fkey' });
  });

  it.each([
    ['a number too large for its column', '22003', 'number_out_of_range', (db: Db) => db('orders').where({ id: 1 }).update({ distance_km: 1e12 })],
    ['text that is not a timestamp', '22007', 'invalid_date_time', (db: Db) => db('orders').where('created_at', '<', 'not a time')],
    ['text that is not a number', '22P02', 'wrong_type', (db: Db) => db('orders').where('id', 'abc')],
  ])(
    'a data exception (%s) is a 400 invalid_value saying what kind in plain words; the SQLSTATE is for the logs only',
    async (_label, sqlstate, problem, run) => {
      const err = await caught(run(testDb.db));
      expect((err as { code?: string }).code).toBe(sqlstate);
      const classified = classifyError(err) as AppError;
      expect(classified.status).toBe(400);
      expect(classified.code).toBe('invalid_value');
      expect(classified.details).toEqual({ problem });
      expect(JSON.stringify(classified.details)).not.toContain(sqlstate);
      expect(classified.internal).toMatchObject({ sqlstate });
      // The client learns the class of problem, not PostgreSQL's wording.
      expect(classified.message).not.toContain((err as Error).message);
    },
  );

  it('leaves programming errors alone (they stay 500s)', async () => {
    const { db } = testDb;
    const err = await caught(db.raw('select no_such_column from clients'));
    expect(classifyError(err)).toBe(err);
  });
});

describe('the same errors over HTTP, through the one error handler', () => {
  let uvis: TestUvis;
  let admin: string;
  beforeAll(async () => {
    uvis = await startTestUvis({ role: 'api' });
    admin = await uvis.api.login();
  });
  afterAll(async () => {
    await uvis?.stop();
  });

  /**
   * The response names the field in the API's words; the database's own names (the
   * constraint, its table, the SQLSTATE) are absent from it and present in the log
   * line the error handler writes for that request.
   */
  const expectError = async (res: ApiResponse, status: number, error: object, internal: { constraint: string; sqlstate: string }) => {
    expect(res.status, res.text).toBe(status);
    expect(res.body).toEqual({ error: { message: expect.any(String), ...error } });
    // PostgreSQL's own wording (and so table and column internals) never reaches the client.
    expect(res.text).not.toMatch(/violates|duplicate key|foreign key|constraint "|relation "/);
    expect(res.text).not.toContain(internal.constraint);
    expect(res.text).not.toContain(internal.sqlstate);
    expect(res.text).not.toMatch(/constraint|sqlstate|_key\b|_fkey\b/i);
    const requestId = res.headers.get('x-request-id');
    const logged = () => uvis.logs.find((line) => (line.req as { id?: string } | undefined)?.id === requestId && line.db !== undefined);
    await expect.poll(logged, { message: 'a log line for the request carries the database names' }).toBeDefined();
    expect(logged()!.db).toMatchObject(internal);
  };

  it('a vehicle with a licence plate already taken: 409 duplicate, and no second row', async () => {
    const vehicle = { license_plate: '12가3456-dup', vehicle_type: 'REFRIGERATED', capacity_kg: 1000 };
    expect((await uvis.api.post('/api/v1/vehicles', vehicle, admin)).status).toBe(201);
    await expectError(
      await uvis.api.post('/api/v1/vehicles', { ...vehicle, vehicle_type: 'DRY' }, admin),
      409,
      {
        code: 'duplicate',
        details: { field: 'license_plate' },
      },
      { constraint: 'vehicles_license_plate_key', sqlstate: '23505' },
    );
    expect(await uvis.running.deps.db('vehicles').where({ license_plate: vehicle.license_plate })).toHaveLength(1);
  });

  it('a user whose e-mail differs from an existing one only in case: 409 duplicate', async () => {
    await expectError(
      await uvis.api.post('/api/v1/users', { email: 'TEST@Example.com', password: 'a-long-enough-password', role: 'dispatcher' }, admin),
      409,
      {
        code: 'duplicate',
        details: { field: 'email' },
      },
      { constraint: 'users_email_key', sqlstate: '23505' },
    );
  });

  it('a driver assigned to a vehicle that does not exist: 422 invalid_reference, and no row', async () => {
    const before = await uvis.running.deps.db('drivers').count<{ n: string }[]>('* as n');
    await expectError(
      await uvis.api.post('/api/v1/drivers', { name: '없는 차량 기사', vehicle_id: 999_999 }, admin),
      422,
      {
        code: 'invalid_reference',
        details: { field: 'vehicle_id' },
      },
      { constraint: 'drivers_vehicle_id_fkey', sqlstate: '23503' },
    );
    expect(await uvis.running.deps.db('drivers').count<{ n: string }[]>('* as n')).toEqual(before);
  });
});
