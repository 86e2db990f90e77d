import type { Knex } from 'knex';

/**
 * Stored emails are kept in the one normalised form sign-in uses
 * (domain/sign-in-identifier.ts): lowercase printable ASCII without spaces. Sign-in
 * then matches them exactly instead of through lower() on both sides, which answered
 * to Unicode variants ('İ') that the brute-force counters keyed differently.
 *
 * Existing rows are lowercased in place: the unique index on lower(email) already
 * guarantees no two of them collide. A row outside ASCII (none can come through the
 * API, whose email schema is ASCII-only) makes this migration fail with the
 * constraint's name, for an operator to correct by hand, rather than leave an
 * account nobody can sign in to.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    update users set email = lower(btrim(email)) where email <> lower(btrim(email));
    alter table users add constraint users_email_normalized check (email ~ '^[!-~]{1,254}$' and email !~ '[A-Z]');
  `);
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
