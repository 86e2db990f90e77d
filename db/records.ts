/** Plain keyed records (clients, drivers, vehicles, users): the same create/read/update/list shape for each. */
import type { Db, Trx } from './knex.js';
import { decodeCursor, page } from './cursor.js';

export type RecordTable = 'clients' | 'drivers' | 'vehicles' | 'users';

export interface ListOptions {
  active?: boolean;
  limit: number;
  cursor?: string;
  where?: Record<string, unknown>;
}

export async function insertRecord(db: Db | Trx, table: RecordTable, data: Record<string, unknown>): Promise<Record<string, unknown>> {
  const [row] = await db(table).insert(data).returning('*');
  return row;
}

export function findRecord(db: Db | Trx, table: RecordTable, id: number): Promise<Record<string, unknown> | undefined> {
  return db(table).where({ id }).first();
}

/** Updates and returns the row, or undefined when there is none with that id. */
export async function updateRecord(db: Db | Trx, table: RecordTable, id: number, patch: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
  const [row] = await db(table)
    .where({ id })
    .update({ ...patch, updated_at: db.fn.now() })
    .returning('*');
  return row;
}

/** Pages by id; every table has its primary key index for this. */
export async function listRecords(db: Db, table: RecordTable, options: ListOptions) {
  const query = db(table)
    .orderBy('id')
    .limit(options.limit + 1);
  if (options.active !== undefined) query.where('active', options.active);
  if (options.where) query.where(options.where);
  if (options.cursor) query.where('id', '>', decodeCursor(options.cursor, ['number'])[0]!);
  const rows: Record<string, unknown>[] = await query;
  return page(rows, options.limit, (row) => [row.id as number]);
}
