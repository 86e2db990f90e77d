/**
 * Sessions: checking credentials and opening one (shared by the API login and the
 * browser sign-in), rotating a refresh token with reuse detection, and signing out.
 * Every revocation is announced, so every API replica drops the session at once.
 */
import { randomUUID } from 'node:crypto';
import { createSession, lockRefreshToken, revokeSession, revokeUserSessions, rotateRefreshToken } from '../db/sessions.js';
import { findUserByEmail, setPasswordHash, userIdsOfDriver, type UserRow } from '../db/users.js';
import { normalizeSignInIdentifier } from '../domain/sign-in-identifier.js';
import { UnauthorizedError } from '../lib/errors/index.js';
import { burnPasswordCheck, hashPassword, needsRehash, verifyPassword } from '../lib/passwords.js';
import { hashToken, newRefreshToken } from '../lib/tokens.js';
import type { UseCaseDeps } from './deps.js';

export interface OpenedSession {
  user: UserRow;
  sessionId: string;
  refreshToken: string;
}

/** One answer for every refused sign-in (unknown, refused identifier, wrong password, deactivated): nothing to probe. */
const invalidCredentials = () => new UnauthorizedError('wrong email or password', 'invalid_credentials');

/**
 * Checks credentials and opens a session. The identifier is normalised once
 * (domain/sign-in-identifier.ts) and matched exactly; an identifier that cannot be a
 * stored email is not looked up. A deactivated account answers like a wrong password
 * (401, so the brute-force guard counts it): the right password must not reveal that
 * the account exists but is disabled.
 */
export async function signIn(
  { db }: Pick<UseCaseDeps, 'db'>,
  credentials: { email: string; password: string; userAgent?: string; ip?: string; ttlSeconds: number },
): Promise<OpenedSession> {
  const identifier = normalizeSignInIdentifier(credentials.email);
  const user = identifier.acceptable ? await findUserByEmail(db, identifier.email) : undefined;
  if (!user) {
    await burnPasswordCheck(credentials.password);
    throw invalidCredentials();
  }
  if (!(await verifyPassword(user.password_hash, credentials.password)) || !user.active) throw invalidCredentials();
  const sessionId = randomUUID();
  const refreshToken = newRefreshToken();
  await db.transaction(async (trx) => {
    await createSession(trx, {
      id: sessionId,
      userId: user.id,
      expiresAt: new Date(Date.now() + credentials.ttlSeconds * 1000),
      refreshHash: hashToken(refreshToken),
      userAgent: credentials.userAgent,
      ip: credentials.ip,
    });
    if (needsRehash(user.password_hash)) await setPasswordHash(trx, user.id, await hashPassword(credentials.password));
  });
  return { user, sessionId, refreshToken };
}

/**
 * Exchanges a refresh token for a new one. A token presented twice revokes its whole
 * session (theft is assumed); unknown, expired, revoked or a deactivated user's tokens
 * are refused, and so is any token of a session that has itself expired (the access
 * token it would hand out is refused at once by loadPrincipal).
 */
export async function refreshSession(
  deps: Pick<UseCaseDeps, 'db' | 'auth'>,
  refreshToken: string,
  ttlSeconds: number,
): Promise<{ userId: number; sessionId: string; refreshToken: string }> {
  const oldHash = hashToken(refreshToken);
  const next = newRefreshToken();
  const outcome = await deps.db.transaction(async (trx) => {
    const state = await lockRefreshToken(trx, oldHash);
    if (!state) return { error: 'unknown' as const };
    if (state.used) {
      await revokeSession(trx, state.sessionId);
      return { error: 'reused' as const, sessionId: state.sessionId };
    }
    if (state.expired || state.sessionExpired || state.revoked || !state.userActive) return { error: 'invalid' as const };
    // The session's end is fixed at sign-in; a new refresh token never reaches past it.
    const expiresAt = new Date(Math.min(Date.now() + ttlSeconds * 1000, state.sessionExpiresAt.getTime()));
    await rotateRefreshToken(trx, oldHash, { hash: hashToken(next), sessionId: state.sessionId, expiresAt });
    return { sessionId: state.sessionId, userId: state.userId };
  });
  if ('error' in outcome) {
    if (outcome.error === 'reused') {
      await deps.auth.sessionRevoked(outcome.sessionId);
      throw new UnauthorizedError('refresh token was already used; the session is revoked, sign in again', 'refresh_token_reused');
    }
    throw new UnauthorizedError('refresh token is not valid; sign in again', 'invalid_refresh_token');
  }
  return { ...outcome, refreshToken: next };
}

/** Ends a session: its refresh tokens stop working and its access tokens are refused by every replica. */
export async function signOut(deps: Pick<UseCaseDeps, 'db' | 'auth'>, sessionId: string): Promise<void> {
  await revokeSession(deps.db, sessionId);
  await deps.auth.sessionRevoked(sessionId);
}

/**
 * After an account changed: deactivation and a new password end every session (a
 * reactivated account must sign in again: a stolen refresh token does not come back to
 * life); role, driver link and active flag are read through the session cache, so it is evicted everywhere.
 */
export async function accountChanged(deps: Pick<UseCaseDeps, 'db' | 'auth'>, userId: number, change: { endsSessions: boolean }): Promise<void> {
  if (change.endsSessions) await revokeUserSessions(deps.db, userId);
  await deps.auth.userChanged(userId);
}

/**
 * After a driver profile changed (deactivated, reactivated, edited): the accounts linked
 * to it carry its active flag in their cached sessions, so those are evicted everywhere
 * and the next request reads the flag afresh.
 */
export async function driverChanged(deps: Pick<UseCaseDeps, 'db' | 'auth'>, driverId: number): Promise<void> {
  for (const userId of await userIdsOfDriver(deps.db, driverId)) await deps.auth.userChanged(userId);
}
