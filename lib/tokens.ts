/** Access tokens (short-lived HS256 JWTs, verified by jose) and opaque refresh tokens. */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { UnauthorizedError } from './errors/index.js';

const ISSUER = 'uvis';
const AUDIENCE = 'uvis-api';

export interface AccessClaims {
  userId: number;
  sessionId: string;
}

/** Verified tokens remembered per process; a driver's app sends the same token for its whole lifetime. */
const VERIFIED_CACHE_SIZE = 50_000;

export class TokenService {
  // A KeyObject made once: handing jose raw bytes would import the key on every verification.
  private readonly key: KeyObject;
  private readonly verified = new Map<string, { claims: AccessClaims; expiresAtMs: number }>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** ttlSeconds overrides the access-token lifetime (browser sessions live longer than API tokens). */
  sign(claims: AccessClaims, ttlSeconds = this.ttlSeconds): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(claims.userId))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
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
  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAtMs > Date.now()) return known.claims;
      this.verified.delete(token);
      throw new UnauthorizedError('token expired', 'token_expired');
    }
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || typeof payload.sid !== 'string') throw new UnauthorizedError('invalid token', 'invalid_token');
      const claims = { userId, sessionId: payload.sid };
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { claims, expiresAtMs: (payload.exp ?? 0) * 1000 });
      return claims;
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
