/**
 * UVIS behind PgBouncer in transaction mode (issue 19): no session state. A real PgBouncer (Debian's)
 * with ONE server connection in front of this file's database, so every transaction, UVIS's and a
 * plain client's, runs on the same PostgreSQL backend: whatever a transaction left behind, the next
 * one would see. The statement timeout and JIT setting travel with each transaction (db/knex.ts).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../db/knex.js';
import { createTestDatabase, withAdminClient, type TestDatabase } from '../helpers/databases.js';
import { loadConfig } from '../../lib/config.js';
import { sampleSettings, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';

const TIMEOUT_MS = 300;

let database: TestDatabase;
let bouncer: PgBouncer;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  // The server's own default, stated, so that a connection running with JIT off can only be UVIS's doing.
  await withAdminClient((c) => c.query(`alter database ${database.name} set jit = on`));
  bouncer = await startPgBouncer({ serverUrl: database.directUrl, poolSize: 1 });
  db = createDb({ url: bouncer.urlFor(database.name), poolMin: 0, poolMax: 3, statementTimeoutMs: TIMEOUT_MS });
});

afterAll(async () => {
  await db?.destroy();
  await bouncer?.stop();
  await database?.drop();
});

/** A client that is not UVIS, through the same PgBouncer: it sees what the server connection carries. */
async function plainClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: bouncer.urlFor(database.name) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const settingsOf = async (client: pg.Client) =>
  (await client.query(`select pg_backend_pid() as pid, current_setting('jit') as jit, current_setting('statement_timeout') as timeout`)).rows[0] as {
    pid: number;
    jit: string;
    timeout: string;
  };

describe('UVIS behind PgBouncer in transaction mode', () => {
  it('runs on the sample configuration (deploy/pgbouncer/pgbouncer.ini): transaction mode, no startup parameter ignored', async () => {
    const sample = sampleSettings();
    expect(sample.pool_mode).toBe('transaction');
    expect(sample).not.toHaveProperty('ignore_startup_parameters');
    // PgBouncer's own query_timeout is a backstop: it must not cut statements UVIS lets run.
    const queryTimeoutS = Number(sample.query_timeout ?? 0);
    expect(queryTimeoutS === 0 || queryTimeoutS * 1000 > loadConfig({}).db.statementTimeoutMs).toBe(true);
    const shown = Object.fromEntries((await bouncer.admin('SHOW CONFIG')).rows.map((r: { key: string; value: string }) => [r.key, r.value]));
    expect(shown).toMatchObject({ pool_mode: 'transaction', ignore_startup_parameters: '', query_timeout: sample.query_timeout });
  });

  it('is refused start-up parameters (options, statement_timeout): why the settings go with each transaction', async () => {
    for (const startup of [{ options: '-c jit=off' }, { statement_timeout: 1000 }]) {
      const client = new pg.Client({ connectionString: bouncer.urlFor(database.name), ...startup });
      await expect(client.connect()).rejects.toThrow(/unsupported startup parameter/);
      await client.end().catch(() => {});
    }
  });

  it('cancels a single statement (outside any transaction) that runs longer than the statement timeout', async () => {
    const started = Date.now();
    await expect(db.raw('select pg_sleep(3)')).rejects.toMatchObject({ code: '57014', message: expect.stringMatching(/statement timeout/) });
    expect(Date.now() - started).toBeLessThan(2000);
    // And the pooled connection is clean afterwards.
    expect((await db.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('cancels a statement inside a transaction that runs longer than the statement timeout', async () => {
    const started = Date.now();
    await expect(db.transaction((trx) => trx.raw('select pg_sleep(3)'))).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(2000);
    // Each statement has the whole timeout: several shorter ones in one transaction are fine.
    await db.transaction(async (trx) => {
      for (let i = 0; i < 3; i++) await trx.raw('select pg_sleep(?)', [(TIMEOUT_MS * 0.6) / 1000]);
    });
  });

  it('runs single statements and transactions (any isolation level) with JIT off and the timeout set', async () => {
    const expected = { jit: 'off', statement_timeout: `${TIMEOUT_MS}ms` };
    const show = async (q: Db | Parameters<Parameters<Db['transaction']>[0]>[0]) => ({
      jit: (await q.raw('show jit')).rows[0].jit,
      statement_timeout: (await q.raw('show statement_timeout')).rows[0].statement_timeout,
    });
    expect(await show(db)).toEqual(expected);
    // With bindings (the extended protocol) as well as without.
    expect((await db.raw(`select current_setting(?) as jit`, ['jit'])).rows[0].jit).toBe('off');
    expect(await db.transaction((trx) => show(trx))).toEqual(expected);
    const isolated = await db.transaction(
      async (trx) => ({ ...(await show(trx)), isolation: (await trx.raw('show transaction_isolation')).rows[0].transaction_isolation }),
      {
        isolationLevel: 'repeatable read',
      },
    );
    expect(isolated).toEqual({ ...expected, isolation: 'repeatable read' });
    // Nested transactions (savepoints) keep the outer transaction's settings.
    expect(await db.transaction((trx) => trx.transaction((inner) => show(inner)))).toEqual(expected);
  });

  it('leaves nothing on the server connection: the next client of the same backend sees the server defaults', async () => {
    const uvisPid = (await db.raw('select pg_backend_pid() as pid')).rows[0].pid;
    await db.transaction((trx) => trx.raw(`set local work_mem = '7MB'`));
    const after = await plainClient(async (client) => ({ ...(await settingsOf(client)), workMem: (await client.query('show work_mem')).rows[0].work_mem }));
    expect(after.pid).toBe(uvisPid); // one server connection: the same backend
    expect(after).toMatchObject({ jit: 'on', timeout: '0', workMem: '4MB' });
  });

  it('a SET LOCAL in one transaction is gone in the next transaction on the same server connection', async () => {
    const first = await db.transaction(async (trx) => {
      await trx.raw(`set local work_mem = '7MB'`);
      return (await trx.raw(`select pg_backend_pid() as pid, current_setting('work_mem') as work_mem`)).rows[0];
    });
    const second = await db.transaction(async (trx) => (await trx.raw(`select pg_backend_pid() as pid, current_setting('work_mem') as work_mem`)).rows[0]);
    expect(first).toEqual({ pid: first.pid, work_mem: '7MB' });
    expect(second).toEqual({ pid: first.pid, work_mem: '4MB' });
  });

  it('a session SET by another client does stay on the server connection (why pg_dump connects directly)', async () => {
    // The hazard the rule avoids, shown on the same backend: this test's premise holds.
    await plainClient((client) => client.query(`set work_mem = '9MB'`));
    try {
      expect((await db.raw(`select current_setting('work_mem') as work_mem`)).rows[0].work_mem).toBe('9MB');
    } finally {
      await plainClient((client) => client.query('reset work_mem'));
    }
  });

  it('a failed single statement is rolled back and the next one runs; a COMMIT that fails fails its statement', async () => {
    await db.raw('create table pgbouncer_probe (id int, constraint one_each unique (id) deferrable initially deferred)');
    await expect(db.raw('select 1 / 0')).rejects.toMatchObject({ code: '22012' });
    await expect(db('pgbouncer_probe').insert([{ id: 1 }, { id: 1 }])).rejects.toMatchObject({ code: '23505' }); // checked at COMMIT
    expect(await db('pgbouncer_probe').count({ n: '*' })).toEqual([{ n: 0 }]);
    await db('pgbouncer_probe').insert({ id: 2 });
    expect(await db('pgbouncer_probe').pluck('id')).toEqual([2]);
  });

  it('runs what PostgreSQL refuses in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM) as it is', async () => {
    await db.raw('create table if not exists pgbouncer_concurrent (id int)');
    await db.raw('create index concurrently if not exists pgbouncer_concurrent_id on pgbouncer_concurrent (id)');
    await db.raw('vacuum (analyze) pgbouncer_concurrent');
    const { rows } = await db.raw(`select indexname from pg_indexes where tablename = 'pgbouncer_concurrent'`);
    expect(rows).toEqual([{ indexname: 'pgbouncer_concurrent_id' }]);
  });
});
