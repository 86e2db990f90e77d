/**
 * Body parsing per route: the right content type (415 otherwise), a size limit
 * (413), valid JSON (400) and valid UTF-8 (400). Routes without a body schema
 * refuse bodies they would otherwise silently ignore.
 */
import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { AppError } from '../../lib/errors/index.js';
import type { RouteSpec } from '../route.js';

const DEFAULT_LIMIT = '16kb';

function assertUtf8(_req: unknown, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) throw new AppError(400, 'invalid_encoding', 'request body is not valid UTF-8');
}

function hasBody(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function bodyParser(route: RouteSpec): RequestHandler {
  const limit = route.bodyLimit ?? DEFAULT_LIMIT;
  const json = express.json({ limit, strict: true, type: () => true, verify: assertUtf8 });
  const form = route.form ? express.urlencoded({ limit, extended: false, type: () => true, verify: assertUtf8 }) : undefined;
  const expected = form ? 'application/json or application/x-www-form-urlencoded' : 'application/json';
  return (req, res, next) => {
    if (route.multipart) {
      // The handler streams it (api/proof-upload.ts); reading it here would hold the whole upload in memory.
      if (req.is('multipart/form-data')) return next();
      return next(new AppError(415, 'unsupported_media_type', 'content type must be multipart/form-data', null, { Connection: 'close' }));
    }
    if (!hasBody(req)) return next();
    if (!route.body) return next(new AppError(415, 'unsupported_media_type', 'this endpoint takes no request body'));
    if (req.is('application/json')) return json(req, res, next);
    if (form && req.is('application/x-www-form-urlencoded')) return form(req, res, next);
    next(new AppError(415, 'unsupported_media_type', `content type must be ${expected}`));
  };
}
