/** The one error handler, registered last: every error becomes {"error": {code, message, details}}; no stack traces. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, NotFoundError, classifyError } from '../../lib/errors/index.js';

// body-parser's errors carry a `type`; map them to our codes.
const BODY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'request body is too large' },
  'entity.parse.failed': { status: 400, code: 'invalid_json', message: 'request body is not valid JSON' },
  'charset.unsupported': { status: 415, code: 'unsupported_charset', message: 'only UTF-8 bodies are accepted' },
  'encoding.unsupported': { status: 415, code: 'unsupported_encoding', message: 'unsupported content encoding' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'request was aborted' },
  'parameters.too.many': { status: 413, code: 'payload_too_large', message: 'too many form parameters' },
};

export const notFound: RequestHandler = (req, _res, next) => next(new NotFoundError(`route ${req.method} ${req.path}`));

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const bodyError = typeof err?.type === 'string' ? BODY_ERRORS[err.type] : undefined;
  // Client errors raised by libraries keep their 4xx status: http-errors (a bad CSRF token),
  // the router's URIError for a path parameter that is not valid percent-encoding.
  const libraryClientError = !(err instanceof AppError) && typeof err?.status === 'number' && err.status >= 400 && err.status < 500;
  const error = bodyError
    ? new AppError(bodyError.status, bodyError.code, bodyError.message)
    : libraryClientError
      ? new AppError(err.status, typeof err.code === 'string' ? err.code : 'bad_request', String(err.message))
      : classifyError(err instanceof AppError ? err : err?.cause instanceof AppError ? err.cause : err);
  if (!(error instanceof AppError)) {
    // Unexpected: log everything, tell the client nothing about internals.
    req.log?.error({ err }, 'unhandled error');
    if (!res.headersSent) res.status(500).json({ error: { code: 'internal_error', message: 'internal server error', details: null } });
    return;
  }
  if (error.status >= 500) req.log?.warn({ err, code: error.code }, error.message);
  // The database's own names (constraint, table, SQLSTATE) are for operators: logged with the request id, never sent.
  else if (error.internal) req.log?.warn({ code: error.code, db: error.internal }, `database refused the request: ${error.message}`);
  if (res.headersSent) return;
  if (error.headers) res.set(error.headers);
  res.status(error.status).json({ error: { code: error.code, message: error.message, details: error.details ?? null } });
};
