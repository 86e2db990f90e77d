/** Validates params, query and body against the route's zod schemas; every problem is reported at once. */
import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { ValidationError, type FieldProblem } from '../../lib/errors/index.js';
import type { RouteSpec, ValidatedInput } from '../route.js';

function problems(where: string, error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * PostgreSQL text cannot hold U+0000, so a string with one would fail at the
 * database (a 500, or a job that can never succeed): refuse it here, by field.
 * Iterative, because a body may nest thousands of levels deep within its size limit.
 */
function nulCharacters(where: string, root: unknown): FieldProblem[] {
  if (root === undefined || root === null || typeof root === 'number' || typeof root === 'boolean') return [];
  try {
    // The common case, cheaply: JSON text spells U+0000 as \u0000 (in keys and values alike).
    if (!JSON.stringify(root).includes('\\u0000')) return [];
  } catch {
    // Too deep for JSON.stringify: walk it below.
  }
  const found: FieldProblem[] = [];
  const pending: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) found.push({ field: [where, ...path].join('.'), message: 'must not contain the NUL character (U+0000)' });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000')) found.push({ field: [where, ...path].join('.'), message: 'keys must not contain the NUL character (U+0000)' });
        if (typeof item === 'string' || (typeof item === 'object' && item !== null)) pending.push({ value: item, path: [...path, key] });
      }
    }
  }
  return found;
}

export function validateInput(route: RouteSpec): RequestHandler {
  return (req, res, next) => {
    const found: FieldProblem[] = [];
    const valid: ValidatedInput = { body: undefined, query: {}, params: {} };
    const parts = [
      ['params', route.params, req.params],
      ['query', route.query, req.query],
      ['body', route.body, req.body],
    ] as const;
    for (const [where, schema, value] of parts) {
      if (!schema) continue;
      const nul = nulCharacters(where, value);
      if (nul.length > 0) {
        found.push(...nul);
        continue;
      }
      const result = schema.safeParse(value);
      if (result.success) valid[where] = result.data;
      else found.push(...problems(where, result.error));
    }
    if (found.length > 0) return next(new ValidationError('request is invalid', found));
    res.locals.valid = valid;
    next();
  };
}
