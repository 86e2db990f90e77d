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
      const result = schema.safeParse(value);
      if (result.success) valid[where] = result.data;
      else found.push(...problems(where, result.error));
    }
    if (found.length > 0) return next(new ValidationError('request is invalid', found));
    res.locals.valid = valid;
    next();
  };
}
