/** Real PostgreSQL failures map to the status a client can act on. */
import { describe, expect, it } from 'vitest';
import { AppError, classifyError } from '../../lib/errors/index.js';
import { useTestDb } from '../helpers/databases.js';

const testDb = useTestDb();

const caught = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err);

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

  it('a CHECK constraint is a 422 naming the constraint', async () => {
    const { db } = testDb;
    const err = await caught(db('vehicles').insert({ license_plate: 'CHK-1', vehicle_type: 'REFRIGERATED', cargo_classes: ['CHILLED'], capacity_kg: -1 }));
    const classified = classifyError(err) as AppError;
    expect(classified.status).toBe(422);
    expect(classified.code).toBe('constraint_violated');
    expect(classified.details).toEqual({ constraint: 'vehicles_capacity_kg_check' });
  });

  it('leaves programming errors alone (they stay 500s)', async () => {
    const { db } = testDb;
    const err = await caught(db.raw('select no_such_column from clients'));
    expect(classifyError(err)).toBe(err);
  });
});
