/** Bearer-token authentication: a valid signature is not enough, the session and the user must still be active. */
import type { RequestHandler } from 'express';
import { ForbiddenError, UnauthorizedError } from '../../lib/errors/index.js';
import type { AppDeps } from '../deps.js';
import { activeApiKey, refusedKeyRole } from './api-key.js';
import type { AuthRequirement } from '../route.js';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

export function authenticate({ tokens, principals, db }: Pick<AppDeps, 'tokens' | 'principals' | 'db'>): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    if (!header && req.headers['x-api-key'] !== undefined) {
      // An API key on a route for users: a valid one is refused as not allowed here (403), an invalid one as unknown (401).
      const key = await activeApiKey(db, req);
      return next(refusedKeyRole(key.role));
    }
    if (!header) return next(new UnauthorizedError('authentication required: send Authorization: Bearer <access_token>'));
    const match = BEARER.exec(header);
    if (!match) return next(new UnauthorizedError('malformed Authorization header', 'invalid_token'));
    // API audience only: an operator's browser-session cookie is not a bearer token.
    const claims = await tokens.verify(match[1]!, 'api');
    const principal = await principals.get(claims);
    // Logged out, expired, or the user was deactivated: refused now, not when the token expires.
    if (!principal || principal.userId !== claims.userId) {
      return next(new UnauthorizedError('session is no longer valid; sign in again', 'session_revoked'));
    }
    res.locals.principal = principal;
    // What a long-lived response (the live stream) must not outlive.
    res.locals.accessExpiresAt = Math.min(claims.expiresAtMs, principal.sessionExpiresAt);
    next();
  };
}

export function authorize(requirement: Exclude<AuthRequirement, 'vehicle-key'>): RequestHandler {
  return (_req, res, next) => {
    const principal = res.locals.principal;
    if (requirement === 'authenticated') return next();
    if (requirement === 'driver') {
      if (principal.driverId == null) return next(new ForbiddenError('this account is not linked to a driver profile'));
      // The account is fine (it may be an admin's) but its driver profile is not: 403, not 401.
      if (!principal.driverActive) return next(new ForbiddenError('this driver profile is deactivated; ask a dispatcher', 'driver_inactive'));
      return next();
    }
    if (requirement !== 'public' && !requirement.includes(principal.role)) {
      return next(new ForbiddenError(`requires role ${requirement.join(' or ')}`));
    }
    next();
  };
}
