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

/**
 * The indexes a plan uses and the tables it reads. On a partitioned table the plan names each
 * partition's own index: `indexes` lists those and the partitioned (parent) index each belongs to,
 * so a test can name the index as the migration created it; `relations` lists the partitions read,
 * which shows the pruning.
 */
export async function indexesUsed(db: Db, sql: string, bindings: readonly unknown[]): Promise<{ indexes: string[]; relations: string[]; plan: string }> {
  // Captured SQL carries pg's $1, $2 placeholders; knex.raw wants ? (they appear in order).
  const result = await db.raw(`explain (format json) ${sql.replace(/\$\d+/g, '?')}`, bindings as Knex.RawBinding[]);
  const plan = JSON.stringify(result.rows[0]['QUERY PLAN']);
  const own = [...new Set([...plan.matchAll(/"Index Name":"([^"]+)"/g)].map((m) => m[1]!))];
  const { rows } = await db.raw(
    `select distinct p.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where c.relkind = 'i' and c.relname = any(?)`,
    [own],
  );
  const relations = [...new Set([...plan.matchAll(/"Relation Name":"([^"]+)"/g)].map((m) => m[1]!))];
  return { indexes: [...own, ...(rows as { relname: string }[]).map((r) => r.relname)], relations, plan };
}
