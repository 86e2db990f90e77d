/** Access tokens (short-lived HS256 JWTs, verified by jose) and opaque refresh tokens. */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { UnauthorizedError } from './errors/index.js';

const ISSUER = 'uvis';

/**
 * Who a token is for. API access tokens (bearer, 15 minutes) and the operator pages'
 * browser-session cookie (hours) are signed with one key, so without an audience each
 * would be accepted where the other is meant: a cookie as a bearer token would reach
 * the whole API with a longer life, and an API token set as the cookie would open the
 * operator pages. Each verification names the one audience it accepts.
 */
export type TokenAudience = 'api' | 'browser';
const AUDIENCES: Record<TokenAudience, string> = { api: 'uvis-api', browser: 'uvis-browser' };

export interface AccessClaims {
  userId: number;
  sessionId: string;
}

/** Verified tokens remembered per process; a driver's app sends the same token for its whole lifetime. */
const VERIFIED_CACHE_SIZE = 50_000;

export class TokenService {
  // A KeyObject made once: handing jose raw bytes would import the key on every verification.
  private readonly key: KeyObject;
  private readonly verified = new Map<string, { claims: AccessClaims; expiresAtMs: number; audience: TokenAudience }>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** API access tokens live ttlSeconds (ACCESS_TOKEN_TTL_SECONDS); browser sessions pass their own, longer, lifetime. */
  sign(claims: AccessClaims, audience: TokenAudience = 'api', ttlSeconds = this.ttlSeconds): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(claims.userId))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCES[audience])
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.key);
  }

  /**
   * Verifies signature, algorithm (HS256 only: never "none"), issuer, audience and
   * expiry. A token verified before is the same bytes, so its claims are reused
   * until it expires (whether its session is still valid is checked on every request
   * by the caller, not here).
   */
  async verify(token: string, audience: TokenAudience): Promise<AccessClaims & { expiresAtMs: number }> {
    const known = this.verified.get(token);
    if (known) {
      if (known.audience !== audience) throw new UnauthorizedError('invalid token', 'invalid_token');
      if (known.expiresAtMs > Date.now()) return { ...known.claims, expiresAtMs: known.expiresAtMs };
      this.verified.delete(token);
      throw new UnauthorizedError('token expired', 'token_expired');
    }
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCES[audience] });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || typeof payload.sid !== 'string') throw new UnauthorizedError('invalid token', 'invalid_token');
      const claims = { userId, sessionId: payload.sid };
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      const expiresAtMs = (payload.exp ?? 0) * 1000;
      this.verified.set(token, { claims, expiresAtMs, audience });
      return { ...claims, expiresAtMs };
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('token expired', 'token_expired');
      throw new UnauthorizedError('invalid token', 'invalid_token');
    }
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }
}

export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Refresh tokens are random and long, so a fast hash is enough (no salt or stretching needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
