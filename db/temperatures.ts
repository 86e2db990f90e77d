/** Reefer temperature readings: batched inserts for the worker, a dispatch's readings in time order (retention: db/partitions.ts). */
import type { Knex } from 'knex';
import type { CargoClass } from '../domain/cargo.js';
import type { TemperatureProfileCode } from '../domain/temperature-profiles.js';
import { decodeTimeCursor, page, timeCursorColumn } from './cursor.js';
import type { Db, Trx } from './knex.js';

export type ReadingSource = 'driver' | 'gateway';

export interface ReadingRow {
  vehicle_id: number;
  sensor: string;
  recorded_at: Date;
  temperature_c: number;
  setpoint_c: number | null;
  door_open: boolean | null;
  source: ReadingSource;
  received_at: Date;
}

/**
 * Inserts many readings in one statement. Duplicates by (vehicle, sensor, recorded_at)
 * store nothing new, so a re-sent batch or a retried job is harmless; when a duplicate's
 * values disagree, the warmer reading (then door open) is kept, whichever came first. Each reading is attached to the dispatch
 * that held its vehicle at recorded_at: created at or before it, and not finished
 * (COMPLETED, CANCELLED, FAILED set finished_at) before it. One vehicle has at most one
 * active dispatch at a time (a unique index), so at most one matches; the lookup is
 * per reading, since a late offline buffer may span two dispatches. Returns how many
 * rows were new, and the dispatches the batch's readings belong to (new or already stored:
 * a retried job whose earlier evaluation failed still names its dispatches, so they are
 * evaluated again). Each of those dispatches is marked pending from the batch's earliest
 * reading (excursion_evaluations), in the same statement.
 */
export async function insertReadings(trx: Trx, readings: ReadingRow[]): Promise<{ stored: number; dispatchIds: number[] }> {
  if (readings.length === 0) return { stored: 0, dispatchIds: [] };
  // One JSON text parameter with times as epoch milliseconds, not eight arrays: node-postgres
  // escapes array literals element by element in JavaScript and formats each Date as text, which
  // was most of the telemetry worker's CPU; this costs about a third (docs/performance.md).
  const json = JSON.stringify(readings.map((r) => ({ ...r, recorded_at: r.recorded_at.getTime(), received_at: r.received_at.getTime() })));
  const result = await trx.raw(
    `with j as (
       select * from json_to_recordset(?::json)
         as j(vehicle_id bigint, sensor text, recorded_at numeric, temperature_c numeric, setpoint_c numeric, door_open boolean, source text, received_at numeric)
     ),
     r as (
       select vehicle_id, sensor, to_timestamp(recorded_at / 1000) as recorded_at, temperature_c, setpoint_c, door_open, source,
              to_timestamp(received_at / 1000) as received_at
         from j
     ),
     m as (
     select r.vehicle_id, d.id as dispatch_id, r.sensor, r.recorded_at, r.temperature_c, r.setpoint_c, r.door_open, r.source, r.received_at
       from r
       left join lateral (
         select id from dispatches
          where vehicle_id = r.vehicle_id
            and created_at <= r.recorded_at
            and (finished_at is null or finished_at > r.recorded_at)
          order by created_at desc
          limit 1
       ) d on true
     ),
     ins as (
     insert into temperature_readings
       (vehicle_id, dispatch_id, sensor, recorded_at, temperature_c, setpoint_c, door_open, source, received_at)
     select * from m
      -- One lock order for every writer (see db/locations.ts insertPoints).
      order by vehicle_id, sensor, recorded_at
     on conflict (vehicle_id, sensor, recorded_at) do update
       set temperature_c = excluded.temperature_c, setpoint_c = excluded.setpoint_c, door_open = excluded.door_open, source = excluded.source
       -- Two readings for one instant that disagree: the one kept is chosen by value (the warmer,
       -- then door open over closed over unreported), as domain/excursions.ts chooses, never by
       -- arrival order, so the stored record and its excursions do not depend on which came first.
       where excluded.temperature_c > temperature_readings.temperature_c
          or (excluded.temperature_c = temperature_readings.temperature_c
              and (case when excluded.door_open then 2 when not excluded.door_open then 1 else 0 end)
                > (case when temperature_readings.door_open then 2 when not temperature_readings.door_open then 1 else 0 end))
     returning id, recorded_at
     ),
     -- What the next evaluation of each dispatch must look at (db/excursions.ts takeEvaluationState):
     -- set with the readings, so a committed reading is always evaluated or pending.
     pending as (
     insert into excursion_evaluations (dispatch_id, pending_from)
     select dispatch_id, min(recorded_at) from m where dispatch_id is not null group by dispatch_id
      order by dispatch_id
     on conflict (dispatch_id) do update set pending_from = least(excursion_evaluations.pending_from, excluded.pending_from)
     )
     select (select coalesce(array_agg(id), '{}') from ins) as ids, (select coalesce(array_agg(recorded_at), '{}') from ins) as times,
            coalesce((select array_agg(distinct dispatch_id) from m where dispatch_id is not null), '{}') as dispatch_ids`,
    [json],
  );
  const row = result.rows[0] as { ids: number[]; times: Date[]; dispatch_ids: (string | number)[] };
  // Which of the rows written were new rather than updated: xmax is still 0 on a row this transaction
  // inserted, and set on one it updated (the row lock ON CONFLICT took). RETURNING cannot read xmax on a
  // partitioned table, so it is read back here; the times let the planner skip the other months' partitions.
  const stored =
    row.ids.length === 0
      ? 0
      : (
          await trx.raw(
            `select count(*)::int as n from temperature_readings t
               join unnest(?::bigint[], ?::timestamptz[]) w(id, recorded_at) using (id, recorded_at)
              where t.recorded_at = any(?::timestamptz[]) and t.xmax = 0`,
            [row.ids as unknown as Knex.Value, row.times as unknown as Knex.Value, row.times as unknown as Knex.Value],
          )
        ).rows[0].n;
  return { stored, dispatchIds: row.dispatch_ids.map(Number) };
}

/** A dispatch's newest reading with its order's temperature fields (for the live `temperature` event). */
export interface LatestReadingRow {
  dispatch_id: number;
  vehicle_id: number;
  sensor: string;
  recorded_at: Date;
  temperature_c: number;
  door_open: boolean | null;
  cargo_type: CargoClass;
  temperature_profile: TemperatureProfileCode | null;
  temp_min_c: number | null;
  temp_max_c: number | null;
}

/**
 * Each dispatch's newest reading (by recorded_at, then id, as the dashboard's list orders them),
 * with the order's temperature fields. One backward probe of the (dispatch_id, recorded_at, id)
 * index per dispatch (LATERAL ... LIMIT 1): a DISTINCT ON would read every reading of the trip.
 * The dispatch's newest, not the batch's: a late offline buffer must not pass for the present.
 */
export async function latestReadings(db: Db | Trx, dispatchIds: readonly number[]): Promise<LatestReadingRow[]> {
  if (dispatchIds.length === 0) return [];
  const result = await db.raw(
    `select d.id as dispatch_id, r.vehicle_id, r.sensor, r.recorded_at, r.temperature_c, r.door_open,
            o.cargo_type, o.temperature_profile, o.temp_min_c, o.temp_max_c
       from dispatches d
       join orders o on o.id = d.order_id
       cross join lateral (
         select vehicle_id, sensor, recorded_at, temperature_c, door_open
           from temperature_readings
          where dispatch_id = d.id
          order by recorded_at desc, id desc
          limit 1
       ) r
      where d.id = any(?::bigint[])`,
    [dispatchIds as unknown as Knex.Value],
  );
  return result.rows as LatestReadingRow[];
}

export function toReading(row: Record<string, unknown>) {
  return {
    id: row.id as number,
    vehicle_id: row.vehicle_id as number,
    dispatch_id: row.dispatch_id as number | null,
    sensor: row.sensor as string,
    recorded_at: row.recorded_at as Date,
    temperature_c: row.temperature_c as number,
    setpoint_c: row.setpoint_c as number | null,
    door_open: row.door_open as boolean | null,
    source: row.source as ReadingSource,
    received_at: row.received_at as Date,
  };
}

/** A dispatch's readings in time order, paged by (recorded_at, id) on the (dispatch_id, recorded_at, id) index. */
export async function listDispatchReadings(db: Db, q: { dispatchId: number; from?: Date; to?: Date; limit: number; cursor?: string }) {
  const query = db('temperature_readings')
    .where('dispatch_id', q.dispatchId)
    .orderBy([{ column: 'recorded_at' }, { column: 'id' }])
    .limit(q.limit + 1)
    .select(
      'id',
      'vehicle_id',
      'dispatch_id',
      'sensor',
      'recorded_at',
      'temperature_c',
      'setpoint_c',
      'door_open',
      'source',
      'received_at',
      db.raw(timeCursorColumn('recorded_at')),
    );
  if (q.from) query.where('recorded_at', '>=', q.from);
  if (q.to) query.where('recorded_at', '<', q.to);
  if (q.cursor) {
    const [recordedAt, id] = decodeTimeCursor(q.cursor);
    query.whereRaw('(recorded_at, id) > (?::timestamptz, ?)', [recordedAt, id]);
  }
  const rows: Record<string, unknown>[] = await query;
  const result = page(rows, q.limit, (row) => [row.cursor_at as string, row.id as number]);
  return { items: result.items.map(toReading), next_cursor: result.next_cursor };
}
