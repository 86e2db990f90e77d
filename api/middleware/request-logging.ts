/** One JSON line per request (id, route, status, duration) through pino-http; the request id is kept or made. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../../lib/logger.js';
import { routeTemplate } from './route-template.js';

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLogging(log: Logger) {
  return pinoHttp({
    logger: log,
    // Keep a caller's X-Request-Id (so one id follows a request through proxies), else make one.
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${routeTemplate(req as Request)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${routeTemplate(req as Request)} ${res.statusCode}`,
    // Added when the response is done, because only then is the matched route known.
    customSuccessObject: (req, _res, value: Record<string, unknown>) => ({ ...value, route: routeTemplate(req as Request) }),
    customErrorObject: (req, _res, _err, value: Record<string, unknown>) => ({ ...value, route: routeTemplate(req as Request) }),
    // Small lines: no headers (they may carry credentials), no bodies.
    serializers: {
      req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url.split('?')[0],
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customAttributeKeys: { responseTime: 'durationMs' },
    wrapSerializers: false,
  });
}
