/**
 * One JSON line per request (request id, route template, status, duration) through
 * the root pino logger, and the request's count and duration in the HTTP metrics. A
 * caller's X-Request-Id is kept (so one id follows a request through proxies) or one
 * is made; it is echoed back. req.log is a child logger carrying the id as req.id,
 * spelled as on the request line, so one Loki query (`| json | req_id="<id>"`) finds
 * a request's line and everything logged for it.
 *
 * Hand-written rather than pino-http, which cost about three times as much CPU per
 * request here, and cheap on purpose (docs/performance.md, "Where the API's CPU goes"):
 * - one 'close' listener does the log line and the metrics;
 * - the request line goes through a child logger without redaction: its fields are
 *   fixed (no header, body or query string), so none of the redacted paths can occur in
 *   it, and redacting 82 paths was half the line's cost;
 * - req.log is made on first use (a getter on Express's request prototype, not on each
 *   request object): most requests never log anything but their line.
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../../lib/logger.js';
import type { Metrics } from '../../lib/metrics.js';
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

/** Defines req.log on a request prototype: the child logger is made when first read, then kept on the request. */
function defineLazyRequestLog(prototype: object, log: Logger): void {
  Object.defineProperty(prototype, 'log', {
    configurable: true,
    get(this: Request) {
      const child = log.child({ req: { id: this.id } });
      Object.defineProperty(this, 'log', { value: child, configurable: true, writable: true });
      return child;
    },
  });
}

export function requestLogging(log: Logger, metrics?: Metrics): RequestHandler {
  const lineLog = log.child({}, { redact: [] });
  const prototypes = new WeakSet<object>();
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const prototype = Object.getPrototypeOf(req) as object;
    if (!prototypes.has(prototype)) {
      defineLazyRequestLog(prototype, log);
      prototypes.add(prototype);
    }
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    // 'close' comes after 'finish' for a completed response, and alone for an aborted one.
    res.once('close', () => {
      const finished = res.writableFinished;
      const status = finished ? res.statusCode : 499;
      const route = routeTemplate(req);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (finished && metrics) {
        const labels = { method: req.method, route, status: String(status) };
        metrics.httpRequests.inc(labels);
        metrics.httpDuration.observe(labels, seconds);
      }
      const line = {
        req: { id, method: req.method, url: req.originalUrl.split('?')[0], remoteAddress: req.socket.remoteAddress },
        res: { statusCode: status },
        route,
        durationMs: Math.round(seconds * 1e5) / 100,
      };
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      lineLog[level](line, finished ? `${req.method} ${route} ${status}` : `${req.method} ${route} aborted by the client`);
    });
    next();
  };
}
