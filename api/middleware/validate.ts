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
 */
function nulCharacters(where: string, value: unknown, path: string[] = []): FieldProblem[] {
  if (typeof value === 'string') {
    return value.includes('\u0000') ? [{ field: [where, ...path].join('.'), message: 'must not contain the NUL character (U+0000)' }] : [];
  }
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) => [
    ...(key.includes('\u0000') ? [{ field: [where, ...path].join('.'), message: 'keys must not contain the NUL character (U+0000)' }] : []),
    ...nulCharacters(where, item, [...path, key]),
  ]);
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
