/**
 * Browser sign-in for the operator pages (Bull Board): a session cookie that is
 * http-only, secure and same-site strict, holding a signed token for a session row
 * (so logout and deactivation end it at once, like API tokens; its own audience and
 * lifetime, so it is never accepted as an API bearer token nor the reverse), plus double-submit
 * CSRF tokens bound to that session. Bull Board's client (axios) sends the
 * XSRF-TOKEN cookie back as the X-XSRF-TOKEN header by itself.
 */
import { createHmac } from 'node:crypto';
import type { CookieOptions, Request, RequestHandler } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import type { AppDeps } from '../api/deps.js';

export const SESSION_COOKIE = 'uvis_session';
export const CSRF_COOKIE = 'XSRF-TOKEN';
export const ADMIN_PATH = '/admin';

export function sessionCookieOptions(ttlSeconds: number): CookieOptions {
  return { httpOnly: true, secure: true, sameSite: 'strict', path: ADMIN_PATH, maxAge: ttlSeconds * 1000 };
}

/** Sets res.locals.principal from the session cookie when it holds a live session; never fails. */
export function readBrowserSession({ tokens, principals }: Pick<AppDeps, 'tokens' | 'principals'>): RequestHandler {
  return async (req, res, next) => {
    const token = req.cookies?.[SESSION_COOKIE];
    if (typeof token === 'string' && token.length < 2000) {
      try {
        // Browser audience only: an API access token set as this cookie is refused.
        const claims = await tokens.verify(token, 'browser');
        const principal = await principals.get(claims);
        if (principal && principal.userId === claims.userId) res.locals.principal = principal;
      } catch {
        // An expired or forged cookie is the same as none.
      }
    }
    next();
  };
}

export function csrfProtection(jwtSecret: string) {
  // Derived from JWT_SECRET so there is one secret to rotate; a label keeps the two uses apart.
  const secret = createHmac('sha256', jwtSecret).update('uvis-csrf').digest('hex');
  return doubleCsrf({
    getSecret: () => secret,
    getSessionIdentifier: (req: Request) => String((req.res?.locals.principal?.sessionId as string | undefined) ?? 'signed-out'),
    cookieName: CSRF_COOKIE,
    // Readable by the page's script (that is the point of double submit); strict same-site; admin pages only.
    cookieOptions: { httpOnly: false, secure: true, sameSite: 'strict', path: ADMIN_PATH },
    getCsrfTokenFromRequest: (req: Request) => req.headers['x-xsrf-token'] ?? req.body?._csrf,
    errorConfig: { statusCode: 403, message: 'missing or invalid CSRF token; reload the page', code: 'csrf_invalid' },
  });
}
