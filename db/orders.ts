/** Orders: queries and the shape clients see. */
import type { CargoClass } from '../domain/cargo.js';
import { CARGO_INFO } from '../domain/cargo.js';
import type { OrderStatus } from '../domain/dispatch-status.js';
import type { ProofKind } from '../domain/proofs.js';
import { normalizeText } from '../domain/text.js';
import { decodeTimeCursor, timeCursorColumn, page } from './cursor.js';
import type { Db, Trx } from './knex.js';

/** The temperature profiles an order may name (the CHECK of migration 0008); their limits live in domain/. */
export type TemperatureProfileCode = 'CHILLED' | 'FROZEN' | 'AMBIENT' | 'PHARMA_2_8';

export interface OrderRow {
  id: number;
  client_id: number;
  pickup_address: string;
  delivery_address: string;
  pickup_lat: number | null;
  pickup_lng: number | null;
  delivery_lat: number | null;
  delivery_lng: number | null;
  /** The coordinates were estimated from the address by the orders worker (no geofence around them; migration 0012). */
  pickup_estimated: boolean;
  delivery_estimated: boolean;
  cargo_type: CargoClass;
  weight_kg: number;
  status: OrderStatus;
  distance_km: number | null;
  notes: string | null;
  temperature_profile: TemperatureProfileCode | null;
  temp_min_c: number | null;
  temp_max_c: number | null;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
  /** The public tracking page's token (migration 0014); null when revoked. */
  tracking_token: string | null;
  /** Proofs that must exist before the goods are handed over (migration 0015); empty: none. */
  proof_required: ProofKind[];
}

/** The order as the API shows it; `publicUrl` (PUBLIC_URL, may be empty) prefixes its tracking link. */
export function toOrder(row: OrderRow, publicUrl = '') {
  return {
    id: row.id,
    client_id: row.client_id,
    pickup_address: row.pickup_address,
    delivery_address: row.delivery_address,
    pickup_lat: row.pickup_lat,
    pickup_lng: row.pickup_lng,
    delivery_lat: row.delivery_lat,
    delivery_lng: row.delivery_lng,
    cargo_type: row.cargo_type,
    cargo_label: CARGO_INFO[row.cargo_type].label,
    weight: row.weight_kg,
    status: row.status,
    distance_km: row.distance_km,
    notes: row.notes,
    temperature_profile: row.temperature_profile,
    temp_min_c: row.temp_min_c,
    temp_max_c: row.temp_max_c,
    proof_required: row.proof_required,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    tracking_url: row.tracking_token === null ? null : `${publicUrl}/track/${row.tracking_token}`,
  };
}
export type Order = ReturnType<typeof toOrder>;

export async function insertOrder(trx: Trx, data: Partial<OrderRow>): Promise<OrderRow> {
  const [row] = await trx('orders').insert(data).returning('*');
  return row;
}

export function getOrder(db: Db | Trx, id: number, options: { forUpdate?: boolean } = {}): Promise<OrderRow | undefined> {
  const query = db('orders').where({ id }).first();
  if (options.forUpdate) query.forUpdate();
  return query;
}

export async function updateOrder(trx: Trx, id: number, patch: Partial<OrderRow>): Promise<OrderRow> {
  const [row] = await trx('orders')
    .where({ id })
    .update({ ...patch, updated_at: trx.fn.now() })
    .returning('*');
  return row;
}

/** The search expression, written exactly as in the trigram index so the planner uses it. */
export const ADDRESS_SEARCH_SQL = `(pickup_address || ' ' || delivery_address)`;

/** Escapes LIKE wildcards so a search for "100%" means the text, not a pattern. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface OrderFilters {
  status?: OrderStatus[];
  clientId?: number;
  cargoType?: CargoClass;
  createdFrom?: Date;
  createdTo?: Date;
  q?: string;
  sort: 'created_at' | '-created_at';
  limit: number;
  cursor?: string;
  /** Prefix of each order's tracking_url (PUBLIC_URL). */
  publicUrl?: string;
}

/** Keyset pages over (created_at, id), served by the (status, created_at) and created_at indexes. */
export async function listOrders(db: Db, f: OrderFilters) {
  const direction = f.sort === '-created_at' ? 'desc' : 'asc';
  const query = db('orders')
    .select('*', db.raw(timeCursorColumn('created_at')))
    .orderBy([
      { column: 'created_at', order: direction },
      { column: 'id', order: direction },
    ])
    .limit(f.limit + 1);
  if (f.status?.length) query.whereIn('status', f.status);
  if (f.clientId !== undefined) query.where('client_id', f.clientId);
  if (f.cargoType) query.where('cargo_type', f.cargoType);
  if (f.createdFrom) query.where('created_at', '>=', f.createdFrom);
  if (f.createdTo) query.where('created_at', '<', f.createdTo);
  // Addresses are stored in NFC (domain/text.ts); a search in decomposed Hangul must match them.
  if (f.q) query.whereRaw(`${ADDRESS_SEARCH_SQL} ilike ?`, [likeContains(normalizeText(f.q))]);
  if (f.cursor) {
    const [createdAt, id] = decodeTimeCursor(f.cursor);
    query.whereRaw(`(created_at, id) ${direction === 'desc' ? '<' : '>'} (?::timestamptz, ?)`, [createdAt, id]);
  }
  const rows: (OrderRow & { cursor_at: string })[] = await query;
  const result = page(rows, f.limit, (row) => [row.cursor_at, row.id]);
  return { items: result.items.map((row) => toOrder(row, f.publicUrl)), next_cursor: result.next_cursor };
}

export async function orderStatusCounts(db: Db): Promise<Record<string, number>> {
  const rows: { status: string; count: number }[] = await db('orders')
    .select('status')
    .count<{ status: string; count: number }[]>('* as count')
    .groupBy('status');
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]));
}

/** An order with its version: PostgreSQL's text of updated_at, microseconds included (a JavaScript Date would drop them). */
export function getOrderVersion(db: Db, id: number): Promise<(OrderRow & { version: string }) | undefined> {
  return db('orders').where({ id }).first('*', db.raw('updated_at::text as version'));
}

/** Writes an order's derived route only if the order is still at the version read; the number of rows written (0 or 1). */
export function setOrderRouteIfUnchanged(
  db: Db,
  id: number,
  version: string,
  route: Pick<OrderRow, 'distance_km' | 'pickup_lat' | 'pickup_lng' | 'delivery_lat' | 'delivery_lng' | 'pickup_estimated' | 'delivery_estimated'>,
): Promise<number> {
  return db('orders').where({ id }).whereRaw('updated_at = ?::timestamptz', [version]).update(route);
}
