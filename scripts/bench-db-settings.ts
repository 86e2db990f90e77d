/**
 * npm run bench:db-settings: what setting the statement timeout and jit=off per transaction costs
 * (issue 19, PgBouncer in transaction mode), against setting them once per connection as start-up
 * parameters (the way before, which PgBouncer refuses).
 *
 * On a fresh database, sequentially (one client, so latency is what is measured):
 * - BENCH_DB_STATEMENTS (5,000) single statements outside a transaction, a primary-key read
 *   with a binding (the extended protocol, as knex sends it): UVIS now wraps each in
 *   begin + set local … / the statement / commit, written at once (one round trip);
 * - BENCH_DB_TRANSACTIONS (1,000) transactions of 3 such reads: the settings ride on the BEGIN.
 * Each directly on PostgreSQL with the per-transaction settings (UVIS now), directly with start-up
 * parameters (before), and, with BENCH_PGBOUNCER_URL (a PgBouncer in transaction mode in front of
 * the same server, e.g. from deploy/pgbouncer/pgbouncer.ini), through it with the per-transaction
 * settings. Prints p50 and p95 in microseconds.
 */
import knexFactory from 'knex';
import { databaseName, databaseUrl, dropDatabase, withAdminConnection } from '../db/ensure-database.js';
import { createDb, type Db } from '../db/knex.js';
import { freshDatabase } from './bench/fixtures.js';
import { percentile } from './bench/load.js';

const env = process.env;
const STATEMENTS = Number(env.BENCH_DB_STATEMENTS ?? 5000);
const TRANSACTIONS = Number(env.BENCH_DB_TRANSACTIONS ?? 1000);
const BASE_DB = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NAME = 'uvis_bench_db_settings';

async function timed(rounds: number, work: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(200, rounds); i++) await work(); // warm-up: pools, plans
  const us: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    await work();
    us.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return us.sort((a, b) => a - b);
}

async function measure(label: string, db: Db): Promise<void> {
  const read = () => db('orders').where({ id: 1 }).first('id');
  const single = await timed(STATEMENTS, read);
  const trx = await timed(TRANSACTIONS, () =>
    db.transaction(async (t) => {
      for (let i = 0; i < 3; i++) await t('orders').where({ id: 1 }).first('id');
    }),
  );
  const f = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} µs, p95 ${percentile(xs, 95).toFixed(0)} µs`;
  process.stdout.write(`${label.padEnd(44)} single statement: ${f(single)}; transaction of 3: ${f(trx)}\n`);
  await db.destroy();
}

async function main(): Promise<void> {
  const url = await freshDatabase(BASE_DB, NAME);
  try {
    process.stdout.write(`${STATEMENTS} single statements, ${TRANSACTIONS} transactions of 3, one client, sequential\n`);
    await measure('direct, set local per transaction (now)', createDb({ url, poolMin: 1, poolMax: 1, statementTimeoutMs: 30_000 }));
    await measure(
      'direct, start-up parameters (before)',
      knexFactory({
        client: 'pg',
        connection: { connectionString: url, statement_timeout: 30_000, options: '-c jit=off' },
        pool: { min: 1, max: 1 },
      }) as Db,
    );
    if (env.BENCH_PGBOUNCER_URL) {
      const through = databaseUrl(env.BENCH_PGBOUNCER_URL, databaseName(url));
      await measure('PgBouncer, set local per transaction (now)', createDb({ url: through, poolMin: 1, poolMax: 1, statementTimeoutMs: 30_000 }));
    }
  } finally {
    await withAdminConnection(BASE_DB, (c) => dropDatabase(c, NAME));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
