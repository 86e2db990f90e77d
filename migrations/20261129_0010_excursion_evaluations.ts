import type { Knex } from 'knex';

/**
 * excursion_evaluations: one row per dispatch with readings, the bookkeeping that lets an
 * evaluation look only at the part of a trip new readings can change (use-cases/excursions.ts).
 *
 * - pending_from: the earliest recorded_at among readings stored since the last evaluation
 *   took them. The reading insert sets it in the same statement as the readings (so a
 *   committed reading is always either evaluated or pending); an evaluation takes it under
 *   the dispatch lock and clears it. An evaluation that finds nothing pending has nothing to
 *   do: a second job for the same batch, or a batch another evaluation already covered.
 * - basis: what the stored excursions were computed against (limits, open/close/gap settings,
 *   the on-board periods). When it differs, the next evaluation is over the whole trip.
 * - sensors: every sensor evaluated so far, so a windowed evaluation knows each sensor whose
 *   earlier readings it must find a restart point in.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table excursion_evaluations (
      dispatch_id bigint primary key references dispatches (id),
      pending_from timestamptz,
      basis text,
      sensors text[] not null default '{}',
      evaluated_at timestamptz
    );
    -- Dispatches with readings stored before this table existed: evaluated in full once.
    insert into excursion_evaluations (dispatch_id, pending_from)
    select dispatch_id, min(recorded_at) from temperature_readings where dispatch_id is not null group by dispatch_id;
  `);
}

export async function down(): Promise<void> {
  throw new Error('forward-only migration: restore a backup or write a new migration (docs/deploy.md)');
}
