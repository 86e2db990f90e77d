/**
 * One JSON line per request (request id, route template, status, duration) through
 * the root pino logger. A caller's X-Request-Id is kept (so one id follows a request
 * through proxies) or one is made; it is echoed back. req.log is a child logger
 * carrying the id as req.id, spelled as on the request line, so one Loki query
 * (`| json | req_id="<id>"`) finds a request's line and everything logged for it.
 *
 * Hand-written rather than pino-http, which cost about three times as much CPU per
 * request here (measured; docs/performance.md).
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../../lib/logger.js';
import { routeTemplate } from './route-template.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request id (X-Request-Id). */
      id: string;
      /** A child logger carrying the request id (as req.id). */
      log: Logger;
    }
  }
}

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLogging(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    req.log = log.child({ req: { id } });
    // 'close' comes after 'finish' for a completed response, and alone for an aborted one.
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 499;
      const route = routeTemplate(req);
      const line = {
        req: { id, method: req.method, url: req.originalUrl.split('?')[0], remoteAddress: req.socket.remoteAddress },
        res: { statusCode: status },
        route,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
      };
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      log[level](line, res.writableFinished ? `${req.method} ${route} ${status}` : `${req.method} ${route} aborted by the client`);
    });
    next();
  };
}
