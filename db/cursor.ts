/** Opaque keyset-pagination cursors: the sort key of the last row, base64url-encoded JSON. */
import { ValidationError } from '../lib/errors/index.js';

export function encodeCursor(values: (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const invalidCursor = () => new ValidationError('invalid cursor', [{ field: 'query.cursor', message: 'not a cursor this endpoint issued' }]);

/** Numbers in cursors are ids: whole and within bigint, or PostgreSQL would refuse the comparison. */
const fits = (value: unknown, kind: 'string' | 'number') => (kind === 'number' ? Number.isSafeInteger(value) : typeof value === 'string');

export function decodeCursor(cursor: string, shape: ('string' | 'number')[]): (string | number)[] {
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === shape.length && values.every((v, i) => fits(v, shape[i]!))) {
      return values as (string | number)[];
    }
  } catch {
    // fall through to the error below
  }
  throw invalidCursor();
}

/**
 * Selects a timestamp column as PostgreSQL's own text (cursor_at), microseconds and
 * offset included: a JavaScript Date keeps milliseconds only, and a cursor rounded to
 * the millisecond would skip or repeat rows that share a millisecond at a page boundary.
 */
export const timeCursorColumn = (column: 'created_at' | 'recorded_at') => `${column}::text as cursor_at`;

const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:([+-])(\d{2})(?::?(\d{2}))?|Z)$/;

/** True when every field of PostgreSQL's timestamptz text is in range (the shape alone lets 2026-13-45 through). */
function isRealTimestamp(text: string): boolean {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 8, 9].map((i) => Number(m[i] ?? 0));
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  const realDay = date.getUTCFullYear() === year && date.getUTCMonth() === month! - 1 && date.getUTCDate() === day;
  return year! >= 1 && realDay && hour! <= 23 && minute! <= 59 && second! <= 59 && offsetHours! <= 15 && offsetMinutes! <= 59;
}

/** Reads a (timestamp text, id) cursor, refusing a timestamp PostgreSQL would not parse. */
export function decodeTimeCursor(cursor: string): [string, number] {
  const [createdAt, id] = decodeCursor(cursor, ['string', 'number']) as [string, number];
  if (!isRealTimestamp(createdAt)) throw invalidCursor();
  return [createdAt, id];
}

/** Returns the page and the cursor of the next one (or null), given limit+1 fetched rows. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
