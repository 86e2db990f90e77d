/** Schemas shared by several routes: ids, paging, timestamps and the error shape. */
import { z } from 'zod';
import { parseCargoClass, CARGO_CLASSES } from '../../domain/cargo.js';
import { textProblem } from '../../domain/text.js';

/**
 * Ids in paths and query strings arrive as text. Only the canonical decimal spelling
 * is an id: 1 to 9007199254740991 (the largest integer a JSON number carries exactly,
 * as for ids in bodies), digits only, no leading zero, sign, space, fraction, exponent
 * or hex. `Number()` would read `0x1`, `1e0`, `2.0`, ` 1`, `+1` and `01` all as 1, so
 * one record would answer to many URLs (and caches, logs and rate limits keyed on the
 * path would see different requests).
 */
const CANONICAL_ID = /^[1-9][0-9]{0,15}$/;
export const Id = z
  .string()
  .regex(CANONICAL_ID, 'must be a positive whole number in plain decimal digits, without leading zeros')
  .transform(Number)
  .pipe(z.number().max(Number.MAX_SAFE_INTEGER, 'too large'));
/** Ids in JSON bodies must be JSON numbers: coercion would turn `true` or `[3]` into a real record's id. */
export const BodyId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const IdParams = z.strictObject({ id: Id.meta({ description: 'Numeric id, in plain decimal digits without a leading zero', example: 1 }) });

/**
 * Free text a person types: names, addresses, plates, notes (domain/text.ts has the
 * rules). Stored in NFC; refused with a 400 naming the field when it holds a
 * bidirectional control character or nothing visible. `allowEmpty` lets an
 * optional note be sent as "" (no note), as before.
 */
export function FreeText(options: { min?: number; max: number; trim?: boolean; allowEmpty?: boolean }) {
  const { min = 1, max, trim = true, allowEmpty = false } = options;
  const base = trim ? z.string().trim() : z.string();
  return base
    .normalize('NFC')
    .min(allowEmpty ? 0 : min)
    .max(max)
    .superRefine((value, ctx) => {
      if (allowEmpty && value === '') return;
      if (value.length < min) return; // already reported by min()
      const problem = textProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

export const Limit = z.coerce.number().int().min(1).max(200).default(50).meta({ description: 'Page size (1 to 200)' });
export const Cursor = z.string().max(500).optional().meta({ description: 'next_cursor of the previous page' });

export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 date-time with offset', example: '2026-11-27T09:00:00+09:00' });

/** Accepts `A,B` and repeated `?x=A&x=B`. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : v), z.array(item).min(1).max(20));
}

export const BooleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

export const CargoType = z
  .string()
  .transform((value, ctx) => {
    const code = parseCargoClass(value);
    if (!code) {
      ctx.addIssue({ code: 'custom', message: 'must be 냉장, 냉동 or 상온 (or CHILLED, FROZEN, AMBIENT)' });
      return z.NEVER;
    }
    return code;
  })
  .meta({ description: 'Cargo class: 냉장 (CHILLED, 0 to 10 °C), 냉동 (FROZEN, -18 °C or colder) or 상온 (AMBIENT)', example: '냉장' });

export const CargoCode = z.enum(CARGO_CLASSES);

export const Latitude = z.number().min(-90).max(90);
export const Longitude = z.number().min(-180).max(180);

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'validation_failed' }),
      message: z.string(),
      details: z.unknown().nullable(),
    }),
  })
  .meta({ id: 'Error', description: 'Every error has this shape' });

export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() }).meta({ id });
}

export const JobAccepted = z.object({ job_id: z.string(), queue: z.string() }).meta({ id: 'JobAccepted' });
