/** Schemas shared by several routes: ids, paging, timestamps and the error shape. */
import { z } from 'zod';
import { parseCargoClass, CARGO_CLASSES } from '../../domain/cargo.js';

/** Ids in paths and query strings arrive as text, so they are coerced. */
export const Id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Ids in JSON bodies must be JSON numbers: coercion would turn `true` or `[3]` into a real record's id. */
export const BodyId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const IdParams = z.strictObject({ id: Id.meta({ description: 'Numeric id', example: 1 }) });

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
