/**
 * How long the API waits for a request's body (DESIGN.md "Rules that keep data safe": slow
 * clients must not hold connections). Node's own bound (the server's requestTimeout) is the
 * longest one, UPLOAD_TIMEOUT_MS, because a proof photo from a phone on a slow mobile link may
 * take minutes; this middleware holds every other request to REQUEST_TIMEOUT_MS, as Node did
 * before uploads existed:
 * - an ordinary request whose body has not fully arrived REQUEST_TIMEOUT_MS after its headers;
 * - an upload (RouteSpec.multipart) that pauses longer than REQUEST_TIMEOUT_MS (no byte on its
 *   socket), however long it has been progressing; the whole of it stays under UPLOAD_TIMEOUT_MS
 * gets 408 `request_timeout` with `Connection: close`, and its socket is closed once that is sent.
 */
import type { Request, RequestHandler } from 'express';
import { AppError } from '../../lib/errors/index.js';
import { errorHandler } from './error-handler.js';

const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

export function receiveDeadline(requestTimeoutMs: number, isUpload: (req: Request) => boolean): RequestHandler {
  return (req, res, next) => {
    if (req.complete || !hasBody(req)) return next();
    const upload = isUpload(req);
    // The request is destroyed, not only its socket: once the answer is sent Node stops feeding a
    // body nobody will read, and a handler still reading it (an upload) hears only the request's 'close'.
    const drop = () => {
      req.destroy();
      req.socket.destroy();
    };
    const timedOut = () => {
      if (req.complete) return;
      if (res.headersSent) return drop();
      res.once('finish', drop);
      const message = upload ? `the upload paused for more than ${requestTimeoutMs} ms` : `the request body did not arrive within ${requestTimeoutMs} ms`;
      errorHandler(new AppError(408, 'request_timeout', message, undefined, { Connection: 'close' }), req, res, () => {});
    };
    let clear: () => void;
    if (upload) {
      // The socket's idle timer: any byte received (or sent) starts it again, and it reads nothing
      // itself. Set through the request: Node then hands the timeout to our listener instead of
      // destroying the socket before an answer is written.
      req.setTimeout(requestTimeoutMs, timedOut);
      clear = () => req.setTimeout(0);
    } else {
      const timer = setTimeout(timedOut, requestTimeoutMs);
      clear = () => clearTimeout(timer);
    }
    req.once('end', clear);
    res.once('close', clear);
    next();
  };
}
