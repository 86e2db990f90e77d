/** User accounts (never returned with their password hash). */
import type { UserRole } from '../domain/roles.js';
import type { Db, Trx } from './knex.js';

export interface UserRow {
  id: number;
  email: string;
  password_hash: string;
  role: UserRole;
  name: string | null;
  driver_id: number | null;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export function toUser(row: Record<string, unknown>) {
  return {
    id: row.id as number,
    email: row.email as string,
    role: row.role as UserRole,
    name: row.name as string | null,
    driver_id: row.driver_id as number | null,
    active: row.active as boolean,
    created_at: row.created_at as Date,
    updated_at: row.updated_at as Date,
  };
}

/**
 * The account with exactly this email, already normalised (domain/sign-in-identifier.ts).
 * Stored emails are in that form (constraint users_email_normalized), so lower(email)
 * equals email: the first condition only lets the unique index on lower(email) answer.
 */
export function findUserByEmail(db: Db, normalizedEmail: string): Promise<UserRow | undefined> {
  return db('users').whereRaw('lower(email) = ?', [normalizedEmail]).where('email', normalizedEmail).first();
}

/** Accounts linked to a driver profile (their cached sessions carry the profile's active flag). */
export async function userIdsOfDriver(db: Db | Trx, driverId: number): Promise<number[]> {
  return db('users').where('driver_id', driverId).pluck('id');
}

/** Stores a new hash of the same password (after a sign-in found the old one below today's cost parameters). */
export async function setPasswordHash(db: Db | Trx, userId: number, passwordHash: string): Promise<void> {
  await db('users').where({ id: userId }).update({ password_hash: passwordHash });
}

/** Which of these user ids exist (a restore keeps links only to users the restored data has). */
export async function existingUserIds(db: Db | Trx, ids: number[]): Promise<Set<number>> {
  return new Set<number>(ids.length ? await db('users').whereIn('id', ids).pluck('id') : []);
}
