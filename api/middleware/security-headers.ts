/** Security headers on every response (helmet), with the seed's values where it names them. */
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** Same-origin everything, no framing, no plugins; styles inline only where a page needs them. */
function cspDirectives(inlineStyles: boolean) {
  return {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: inlineStyles ? ["'self'", "'unsafe-inline'"] : ["'self'"],
    // blob: the dashboard shows proof-of-delivery images it fetched with the bearer token (an <img> cannot send it).
    imgSrc: ["'self'", 'data:', 'blob:'],
    fontSrc: inlineStyles ? ["'self'", 'data:'] : ["'self'"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  };
}

export function securityHeaders(): RequestHandler {
  return precomputed(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(false) },
      frameguard: { action: 'deny' },
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
      referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    }),
  );
}

/**
 * Helmet with these options sets the same headers on every response (no nonces, nothing read
 * from the request), yet builds them through a chain of a dozen middleware per request. Run it
 * once, keep what it set and removed, and replay that: the same headers without the chain
 * (its saving was not measured apart; docs/performance.md). tests/integration/security-headers.test.ts
 * checks every header.
 */
function precomputed(middleware: RequestHandler): RequestHandler {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => void set.push([name, value]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let called = false;
  middleware({} as Request, recorder as unknown as Response, () => (called = true));
  if (!called) throw new Error('the security headers middleware did not finish synchronously');
  return (_req, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}

/**
 * The policy for third-party pages we serve (Bull Board, Swagger UI): their markup
 * carries inline styles and data: images; scripts stay same-origin only.
 */
export function thirdPartyPageCsp(): RequestHandler {
  return helmet.contentSecurityPolicy({ useDefaults: false, directives: cspDirectives(true) });
}
