/**
 * A write's unit of work: one PostgreSQL transaction, then (only after it commits)
 * the outbox relay is kicked and the after-commit hooks run (cache invalidation).
 * Hooks never run for a transaction that rolled back.
 */
import type { Trx } from '../db/knex.js';
import type { UseCaseDeps } from './deps.js';

export interface Tx {
  trx: Trx;
  afterCommit(hook: () => Promise<void> | void): void;
}

export async function transaction<T>(deps: Pick<UseCaseDeps, 'db' | 'relay' | 'log'>, work: (tx: Tx) => Promise<T>): Promise<T> {
  const hooks: (() => Promise<void> | void)[] = [];
  const result = await deps.db.transaction((trx) => work({ trx, afterCommit: (hook) => hooks.push(hook) }));
  deps.relay.kick();
  for (const hook of hooks) {
    try {
      await hook();
    } catch (err) {
      deps.log.warn({ err }, 'after-commit hook failed');
    }
  }
  return result;
}
