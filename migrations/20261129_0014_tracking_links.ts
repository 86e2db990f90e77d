import type { Knex } from 'knex';

/**
 * Tracking links (issue 16 item 5): each order carries an unguessable token for its public
 * tracking page (GET /track/:token). 64 hex characters from two gen_random_uuid() (PostgreSQL's
 * strong random source): 244 random bits. The token is stored as is, since the order shows its
 * tracking_url every time; it grants nothing but that page. null: revoked (no page); rotating
 * sets a new one and the old link stops working.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table orders add column tracking_token text
      default replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    update orders set tracking_token = default where tracking_token is null;
    create unique index orders_tracking_token_key on orders (tracking_token);
  `);
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
