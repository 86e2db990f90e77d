import type { Knex } from 'knex';

/**
 * List pages are keyset-paginated on (created_at, id): indexes ending in id give the
 * planner the whole order, so a page is an index range scan with no sort. Built
 * CONCURRENTLY so a large production table keeps taking writes; that cannot run in
 * a transaction, hence `config.transaction = false` (each statement is idempotent).
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index concurrently if not exists orders_status_created_at_id_idx on orders (status, created_at, id)');
  await knex.raw('create index concurrently if not exists orders_created_at_id_idx on orders (created_at, id)');
  await knex.raw('create index concurrently if not exists dispatches_driver_id_created_at_id_idx on dispatches (driver_id, created_at, id)');
  await knex.raw('create index concurrently if not exists dispatches_created_at_id_idx on dispatches (created_at, id)');
  // The narrower indexes they replace (the new ones serve every query the old ones did).
  await knex.raw('drop index concurrently if exists orders_created_at_idx');
  await knex.raw('drop index concurrently if exists dispatches_created_at_idx');
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
