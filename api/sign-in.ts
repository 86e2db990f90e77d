/** Checking credentials and opening a session: shared by the API login and the browser sign-in. */
import { randomUUID } from 'node:crypto';
import { createSession } from '../db/sessions.js';
import { findUserByEmail, type UserRow } from '../db/users.js';
import { ForbiddenError, UnauthorizedError } from '../lib/errors/index.js';
import { burnPasswordCheck, hashPassword, needsRehash, verifyPassword } from '../lib/passwords.js';
import { hashToken, newRefreshToken } from '../lib/tokens.js';
import type { AppDeps } from './deps.js';

export interface OpenedSession {
  user: UserRow;
  sessionId: string;
  refreshToken: string;
}

export async function signIn(
  { db }: Pick<AppDeps, 'db'>,
  credentials: { email: string; password: string; userAgent?: string; ip?: string; ttlSeconds: number },
): Promise<OpenedSession> {
  const user = await findUserByEmail(db, credentials.email);
  if (!user) {
    await burnPasswordCheck(credentials.password);
    throw new UnauthorizedError('wrong email or password', 'invalid_credentials');
  }
  if (!(await verifyPassword(user.password_hash, credentials.password))) {
    throw new UnauthorizedError('wrong email or password', 'invalid_credentials');
  }
  if (!user.active) throw new ForbiddenError('this account is deactivated', 'account_disabled');
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
    if (needsRehash(user.password_hash)) {
      await trx('users').where({ id: user.id }).update({ password_hash: await hashPassword(credentials.password) });
    }
  });
  return { user, sessionId, refreshToken };
}
