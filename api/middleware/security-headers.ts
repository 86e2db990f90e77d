/** Security headers on every response (helmet), with the seed's values where it names them. */
import type { RequestHandler } from 'express';
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
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(false) },
    frameguard: { action: 'deny' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  });
}

/**
 * The policy for third-party pages we serve (Bull Board, Swagger UI): their markup
 * carries inline styles and data: images; scripts stay same-origin only.
 */
export function thirdPartyPageCsp(): RequestHandler {
  return helmet.contentSecurityPolicy({ useDefaults: false, directives: cspDirectives(true) });
}
