import type { Knex } from 'knex';

/**
 * A random key per outbox row names its BullMQ job. Job ids used to be `ob-<outbox id>`,
 * but a database restored from a backup hands out outbox ids again that Redis still
 * holds as completed jobs, and BullMQ silently ignores an add whose id exists: the
 * restored system's first changes would never be processed. The outbox stays small
 * (published rows are pruned), so the table rewrite this default causes is brief.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table outbox add column job_key uuid not null default gen_random_uuid()');
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
