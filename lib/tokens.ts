/** Access tokens (short-lived HS256 JWTs, verified by jose) and opaque refresh tokens. */
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { UnauthorizedError } from './errors/index.js';

const ISSUER = 'uvis';
const AUDIENCE = 'uvis-api';

export interface AccessClaims {
  userId: number;
  sessionId: string;
}

export class TokenService {
  private readonly key: Uint8Array;

  constructor(secret: string, private readonly ttlSeconds: number) {
    this.key = new TextEncoder().encode(secret);
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

  /** Verifies signature, algorithm (HS256 only: never "none"), issuer, audience and expiry. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || typeof payload.sid !== 'string') throw new UnauthorizedError('invalid token', 'invalid_token');
      return { userId, sessionId: payload.sid };
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
