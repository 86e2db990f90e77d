import type { Knex } from 'knex';

/** The backup manifest: one row per backup run, with what the verification found. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table backups (
      id uuid primary key,
      kind text not null check (kind in ('daily', 'weekly', 'manual')),
      -- The schedule tick this backup belongs to, in UTC (e.g. daily:2026-11-27T18:00:00.000Z for 03:00 KST on the 28th):
      -- unique, so replicas racing for one tick make one backup.
      tick_key text unique,
      job_id text,
      status text not null check (status in ('running', 'succeeded', 'failed', 'expired')),
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      -- The database dump (custom format) and, for weekly full backups, the uploaded files.
      location text,
      size_bytes bigint,
      sha256 text,
      files_location text,
      files_size_bytes bigint,
      files_sha256 text,
      targets text[] not null default '{}',
      -- Row counts of the main tables in the dump's snapshot, for verification.
      table_counts jsonb,
      error text,
      requested_by bigint references users (id),
      verified_at timestamptz,
      verification_status text check (verification_status in ('passed', 'failed')),
      verification_error text,
      expired_at timestamptz
    );
    create index backups_started_at_idx on backups (started_at desc);
    create index backups_status_started_at_idx on backups (status, started_at desc);
  `);
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
