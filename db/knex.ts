/**
 * The knex instance: one pool per process, sized in configuration.
 *
 * No session state: DATABASE_URL may point at PgBouncer in transaction mode, which hands each
 * transaction whichever server connection is free. So nothing is set per connection (start-up
 * parameters, SET, advisory locks, prepared statements by name); the settings UVIS relies on are
 * set per transaction instead (`set local`), by the transaction itself:
 * - every knex transaction begins with them, in the same round trip as its BEGIN;
 * - every statement outside one runs in a transaction of its own that begins with them, its
 *   BEGIN, the statement and its COMMIT written at once (node-postgres' pipeline mode), so it
 *   still costs one round trip.
 */
import knexFactory, { type Knex } from 'knex';
import ClientPg, { type KnexQuery, type PgConnection } from 'knex/lib/dialects/postgres/index.js';
import TransactionPg from 'knex/lib/dialects/postgres/execution/pg-transaction.js';
import pg from 'pg';

export type Db = Knex;
export type Trx = Knex.Transaction;

// Ids are bigint identity columns but stay far below 2^53; numbers are friendlier to clients than strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

/** Where knex's own warnings go (pool errors); the console when not given. */
export interface DbLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DbOptions {
  url: string;
  poolMin: number;
  poolMax: number;
  statementTimeoutMs: number;
  applicationName?: string;
  log?: DbLogger;
}

/**
 * What every transaction sets first.
 * - statement_timeout: a statement running longer is cancelled (a stuck query must not hold a
 *   connection, and a request waiting on it, forever).
 * - jit off: UVIS runs short statements whose row estimates grow with the tables until they cross
 *   jit_above_cost; compiling the geofence window read's plan took 700 ms of an 8 ms query on the
 *   benchmark (and ~30 ms per GPS batch). JIT pays off only for long analytic scans, which UVIS
 *   does not run.
 */
export function transactionSettings(statementTimeoutMs: number): string {
  if (!Number.isSafeInteger(statementTimeoutMs) || statementTimeoutMs < 0)
    throw new Error(`statement timeout must be whole milliseconds, got ${statementTimeoutMs}`);
  return `set local statement_timeout = ${statementTimeoutMs}; set local jit = off;`;
}

/**
 * Statements PostgreSQL refuses inside a transaction block (VACUUM, CREATE INDEX CONCURRENTLY and
 * the like, from migrations and maintenance): they run as they are, without the settings.
 */
const OUTSIDE_TRANSACTIONS =
  /^\s*(vacuum|cluster|create\s+database|drop\s+database|alter\s+system|create\s+tablespace|drop\s+tablespace|reindex\s+(system|database))\b|\bconcurrently\b/i;

export function mustRunOutsideTransaction(sql: string): boolean {
  return OUTSIDE_TRANSACTIONS.test(sql);
}

/**
 * node-postgres writes each protocol message of a query (parse, bind, describe, execute, sync) to
 * the socket on its own, synchronously as the query is issued: a statement in its own transaction
 * took three writes and a writev, a third of the dispatch list's CPU (`npm run bench:profile`).
 * Corked, what `send` issues leaves in one write.
 */
function corked<T>(connection: PgConnection, send: () => T): T {
  const stream = connection.connection?.stream;
  stream?.cork();
  try {
    return send();
  } finally {
    stream?.uncork();
  }
}

/** knex's PostgreSQL client whose transactions, explicit or of one statement, carry `settings`. */
function clientWithSettings(settings: string): typeof ClientPg {
  class TransactionWithSettings extends TransactionPg {
    // knex's own BEGIN (with its isolation level and read-only mode), the settings in the same message.
    override begin(connection: unknown): Promise<unknown> {
      const mode = [this.isolationLevel ? `isolation level ${this.isolationLevel}` : '', this.readOnly ? 'read only' : ''].join(' ').trim();
      return this.query(connection, `begin${mode ? ` transaction ${mode}` : ''}; ${settings}`);
    }
  }

  return class ClientWithSettings extends ClientPg {
    override transaction(...args: unknown[]): Knex.Transaction {
      return new TransactionWithSettings(this, ...args) as unknown as Knex.Transaction;
    }

    override async _query(connection: PgConnection, obj: KnexQuery): Promise<KnexQuery> {
      // Inside a transaction (knex marks its connection), the transaction's BEGIN set them already.
      if (connection.__knexTxId !== undefined || !obj.sql || mustRunOutsideTransaction(obj.sql)) return corked(connection, () => super._query(connection, obj));
      // All three are written before any answer arrives; a failed statement turns the COMMIT into a
      // rollback. Every promise is awaited, so none is left to reject unhandled.
      const [begun, ran, committed] = await Promise.allSettled(
        corked(connection, () => [connection.query(`begin; ${settings}`), super._query(connection, obj), connection.query('commit')]),
      );
      if (begun.status === 'rejected') throw begun.reason;
      if (ran.status === 'rejected') throw ran.reason;
      // A COMMIT can fail on its own (a deferred constraint, a serialization failure).
      if (committed.status === 'rejected') throw committed.reason;
      return ran.value;
    }
  };
}

export function createDb({ url, poolMin, poolMax, statementTimeoutMs, applicationName = 'uvis', log }: DbOptions): Db {
  return knexFactory({
    log: log && {
      warn: (message: unknown) => log.warn({ knex: String(message) }, 'database warning'),
      error: (message: unknown) => log.error({ knex: String(message) }, 'database error'),
      deprecate: (message: unknown) => log.warn({ knex: String(message) }, 'database deprecation'),
      debug: () => {},
    },
    client: clientWithSettings(transactionSettings(statementTimeoutMs)),
    connection: {
      connectionString: url,
      // PgBouncer passes application_name on to the server connection it lends (a tracked parameter).
      application_name: applicationName,
      // Queries are written without waiting for the previous answer (see _query above).
      pipeline: true,
      // A database that does not answer must turn into a quick 503, not a hung request.
      connectionTimeoutMillis: 3000,
      // node-postgres knows `pipeline` (8.19+); knex's typings do not list it yet.
    } as Knex.PgConnectionConfig,
    pool: { min: poolMin, max: poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 5000,
  });
}

/** Pool state for the metrics endpoint (tarn's counters). */
export function poolStats(db: Db): { used: number; free: number; pendingAcquires: number; pendingCreates: number } {
  const pool = (db.client as { pool?: Record<string, () => number> }).pool;
  if (!pool) return { used: 0, free: 0, pendingAcquires: 0, pendingCreates: 0 };
  return {
    used: pool.numUsed!(),
    free: pool.numFree!(),
    pendingAcquires: pool.numPendingAcquires!(),
    pendingCreates: pool.numPendingCreates!(),
  };
}

/** The readiness probe: one round trip to PostgreSQL. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.raw('select 1');
}
