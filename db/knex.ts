/** The knex instance: one pool per process, sized in configuration. */
import knexFactory, { type Knex } from 'knex';
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

export function createDb({ url, poolMin, poolMax, statementTimeoutMs, applicationName = 'uvis', log }: DbOptions): Db {
  return knexFactory({
    log: log && {
      warn: (message: unknown) => log.warn({ knex: String(message) }, 'database warning'),
      error: (message: unknown) => log.error({ knex: String(message) }, 'database error'),
      deprecate: (message: unknown) => log.warn({ knex: String(message) }, 'database deprecation'),
      debug: () => {},
    },
    client: 'pg',
    connection: {
      connectionString: url,
      application_name: applicationName,
      statement_timeout: statementTimeoutMs,
      // No JIT: UVIS runs short statements whose row estimates grow with the tables until they
      // cross jit_above_cost; compiling the geofence window read's plan took 700 ms of an 8 ms
      // query on the benchmark. JIT pays off only for long analytic scans, which UVIS does not run.
      options: '-c jit=off',
      // A database that does not answer must turn into a quick 503, not a hung request.
      connectionTimeoutMillis: 3000,
    },
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
