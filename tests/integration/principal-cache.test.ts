/** The session cache: fresh entries expire, and a known session survives a database outage for a while. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDb, type Db } from '../../db/knex.js';
import { loadPrincipal } from '../../db/sessions.js';
import { PrincipalCache } from '../../lib/principal-cache.js';
import { waitFor } from '../helpers/api-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

async function sessionFor(db: Db, userId: number): Promise<string> {
  const id = crypto.randomUUID();
  await db('sessions').insert({ id, user_id: userId, expires_at: db.raw(`now() + interval '1 hour'`) });
  return id;
}

// The cache reads Date.now() for its time to live. Only Date is faked, and the clock
// stands still unless a test moves it: database round trips take whatever time they
// take without moving the cache's clock, so no test depends on a window of milliseconds.
const advanceClock = (ms: number) => vi.setSystemTime(Date.now() + ms);
afterEach(() => {
  vi.useRealTimers();
});

describe('principal cache', () => {
  it('serves a known session from memory while PostgreSQL is unreachable, but never an unknown one', async () => {
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 5000 });
    const known = await sessionFor(db, 1);
    const unknown = await sessionFor(db, 2);
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = new PrincipalCache((sessionId) => loadPrincipal(db, sessionId), 1000);
    expect(await cache.get({ sessionId: known, userId: 1 })).toMatchObject({ userId: 1, role: 'admin' });
    // Past the time to live: the next read asks PostgreSQL again.
    advanceClock(1001);
    // The pool is gone: every query now fails, as when the database is down.
    await db.destroy();
    expect(await cache.get({ sessionId: known, userId: 1 })).toMatchObject({ userId: 1 });
    await expect(cache.get({ sessionId: unknown, userId: 2 })).rejects.toThrow();
    // An evicted session (logout, deactivation) is not revived by the outage.
    cache.evictSession(known);
    await expect(cache.get({ sessionId: known, userId: 1 })).rejects.toThrow();
  });

  it('re-reads a session after its time to live', async () => {
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 5000 });
    try {
      const id = await sessionFor(db, 2);
      vi.useFakeTimers({ toFake: ['Date'] });
      const cache = new PrincipalCache((sessionId) => loadPrincipal(db, sessionId), 20_000);
      expect(await cache.get({ sessionId: id, userId: 2 })).toBeTruthy();
      await db('sessions').where({ id }).update({ revoked_at: db.fn.now() });
      // Within the time to live the cached answer stands, however long the update took ...
      advanceClock(19_999);
      expect(await cache.get({ sessionId: id, userId: 2 })).toBeTruthy();
      // ... and once it has passed, the session is read again and found revoked.
      advanceClock(2);
      expect(await cache.get({ sessionId: id, userId: 2 })).toBeUndefined();
    } finally {
      await db.destroy();
    }
  });

  it('does not cache a load that was running when an eviction arrived', async () => {
    const db = createDb({ url: database.url, poolMin: 0, poolMax: 3, statementTimeoutMs: 5000 });
    try {
      const id = await sessionFor(db, 2);
      const cache = new PrincipalCache((sessionId) => loadPrincipal(db, sessionId), 60_000);
      // Hold the sessions table so the load waits in PostgreSQL ...
      const blocker = await db.transaction();
      await blocker.raw('lock table sessions in access exclusive mode');
      const loading = cache.get({ sessionId: id, userId: 2 });
      await waitFor(
        async () =>
          (await db.raw(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)).rows.length ? true : undefined,
        { what: 'the load to wait' },
      );
      // ... while the session is evicted (a logout on another replica, say).
      cache.evictSession(id);
      await blocker.rollback();
      expect(await loading).toMatchObject({ userId: 2 });
      // That answer was not kept: the revocation is seen at once, not after the TTL.
      await db('sessions').where({ id }).update({ revoked_at: db.fn.now() });
      expect(await cache.get({ sessionId: id, userId: 2 })).toBeUndefined();
    } finally {
      await db.destroy();
    }
  });
});
