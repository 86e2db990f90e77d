import type { Knex } from 'knex';

/**
 * Shipper API keys (issue 16): a shipper's integration creates orders with an Idempotency-Key
 * like a user does, but has no user. An idempotency record now belongs to an `owner`: `user:<id>`
 * or `key:<api key id>`; the primary key is (owner, key). user_id stays for the records of users
 * (and the foreign key), null for an API key's.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table idempotency_keys add column owner text;
    update idempotency_keys set owner = 'user:' || user_id;
    alter table idempotency_keys alter column owner set not null;
    alter table idempotency_keys drop constraint idempotency_keys_pkey;
    alter table idempotency_keys add primary key (owner, key);
    alter table idempotency_keys alter column user_id drop not null;
  `);
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
