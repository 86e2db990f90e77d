/** Runs a query builder's SQL under EXPLAIN and returns the names of the indexes the plan uses. */
import type { Knex } from 'knex';
import type { Db } from '../../db/knex.js';

/** Captures the SQL and bindings of the queries `run` issues. */
export async function captureQueries(db: Db, run: () => Promise<unknown>): Promise<{ sql: string; bindings: readonly unknown[] }[]> {
  const seen: { sql: string; bindings: readonly unknown[] }[] = [];
  const listener = (q: { sql: string; bindings?: readonly unknown[] }) => seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
  db.on('query', listener);
  try {
    await run();
  } finally {
    db.off('query', listener);
  }
  return seen;
}

export async function indexesUsed(db: Db, sql: string, bindings: readonly unknown[]): Promise<{ indexes: string[]; plan: string }> {
  // Captured SQL carries pg's $1, $2 placeholders; knex.raw wants ? (they appear in order).
  const result = await db.raw(`explain (format json) ${sql.replace(/\$\d+/g, '?')}`, bindings as Knex.RawBinding[]);
  const plan = JSON.stringify(result.rows[0]['QUERY PLAN']);
  return { indexes: [...plan.matchAll(/"Index Name":"([^"]+)"/g)].map((m) => m[1]!), plan };
}
