/** Sign-in sessions and their rotating refresh tokens (stored as SHA-256 hashes). */
import type { UserRole } from '../domain/roles.js';
import type { Db, Trx } from './knex.js';

export interface Principal {
  sessionId: string;
  userId: number;
  role: UserRole;
  driverId: number | null;
  /** Whether the linked driver profile is active (false without one): driver routes need it. */
  driverActive: boolean;
  email: string;
  /** When the session itself ends (ms since the epoch): nothing opened with it outlives this. */
  sessionExpiresAt: number;
}

export async function createSession(
  trx: Trx,
  s: { id: string; userId: number; expiresAt: Date; refreshHash: string; userAgent?: string; ip?: string },
): Promise<void> {
  await trx('sessions').insert({ id: s.id, user_id: s.userId, expires_at: s.expiresAt, user_agent: s.userAgent?.slice(0, 300), ip: s.ip });
  await trx('refresh_tokens').insert({ token_hash: s.refreshHash, session_id: s.id, expires_at: s.expiresAt });
}

export interface RefreshTokenState {
  sessionId: string;
  userId: number;
  used: boolean;
  expired: boolean;
  /** The session's own end passed: refreshing it would hand out tokens refused at once. */
  sessionExpired: boolean;
  /** When the session ends: a rotated refresh token never outlives it. */
  sessionExpiresAt: Date;
  revoked: boolean;
  userActive: boolean;
}

/**
 * The token row is locked, so two refreshes with one token queue up and the second sees it
 * used. Only the token (FOR UPDATE OF t): locking the joined user row too would make every
 * insert that references the user (idempotency keys, dispatches' assigned_by, history's
 * changed_by: their foreign-key checks) wait behind a refresh.
 */
export async function lockRefreshToken(trx: Trx, hash: string): Promise<RefreshTokenState | undefined> {
  const row = await trx('refresh_tokens as t')
    .join('sessions as s', 's.id', 't.session_id')
    .join('users as u', 'u.id', 's.user_id')
    .where('t.token_hash', hash)
    .forUpdate('t')
    .first(
      's.id as session_id',
      's.user_id',
      't.used_at',
      's.revoked_at',
      's.expires_at as session_expires_at',
      'u.active',
      trx.raw('t.expires_at < now() as expired'),
      trx.raw('s.expires_at <= now() as session_expired'),
    );
  if (!row) return undefined;
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    used: row.used_at !== null,
    expired: row.expired,
    sessionExpired: row.session_expired,
    sessionExpiresAt: row.session_expires_at,
    revoked: row.revoked_at !== null,
    userActive: row.active,
  };
}

export async function rotateRefreshToken(trx: Trx, oldHash: string, next: { hash: string; sessionId: string; expiresAt: Date }): Promise<void> {
  await trx('refresh_tokens').where('token_hash', oldHash).update({ used_at: trx.fn.now() });
  await trx('refresh_tokens').insert({ token_hash: next.hash, session_id: next.sessionId, expires_at: next.expiresAt });
}

export async function revokeSession(db: Db | Trx, sessionId: string): Promise<void> {
  await db('sessions').where('id', sessionId).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
}

export async function revokeUserSessions(db: Db | Trx, userId: number): Promise<void> {
  await db('sessions').where('user_id', userId).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
}

/** The signed-in user behind a session, or undefined when the session or the user is no longer valid. */
export async function loadPrincipal(db: Db, sessionId: string): Promise<Principal | undefined> {
  const row = await db('sessions as s')
    .join('users as u', 'u.id', 's.user_id')
    .leftJoin('drivers as d', 'd.id', 'u.driver_id')
    .where('s.id', sessionId)
    .whereNull('s.revoked_at')
    .where('s.expires_at', '>', db.fn.now())
    .where('u.active', true)
    .first('s.id as session_id', 's.expires_at', 'u.id as user_id', 'u.role', 'u.driver_id', 'u.email', 'd.active as driver_active');
  if (!row) return undefined;
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    role: row.role,
    driverId: row.driver_id,
    driverActive: row.driver_active === true,
    email: row.email,
    sessionExpiresAt: new Date(row.expires_at).getTime(),
  };
}

/** Sessions that expired or were revoked before the cutoff, with their refresh tokens. */
export async function deleteSessionsEndedBefore(db: Db, cutoff: Date): Promise<number> {
  return db('sessions')
    .where((q) => q.where('expires_at', '<', cutoff).orWhere('revoked_at', '<', cutoff))
    .delete();
}
