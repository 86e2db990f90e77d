import type { Knex } from 'knex';

/**
 * Dispatch history is deduplicated on the outbox row's random job_key instead of its
 * id. Outbox ids come round again after a database is restored from a backup, so a
 * job left over from before the restore and a new change could share an id, and the
 * new change's history row would be silently dropped. Rows written before this
 * migration (and jobs queued before it, which carry no key) keep deduplicating on
 * the id.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table dispatch_status_history add column event_key uuid;
    create unique index dispatch_status_history_event_key_key on dispatch_status_history (event_key);
    create unique index dispatch_status_history_legacy_event_id_key on dispatch_status_history (event_id) where event_key is null;
    drop index dispatch_status_history_event_id_key;
  `);
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
