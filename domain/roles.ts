export const USER_ROLES = ['admin', 'dispatcher', 'driver'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Dispatchers and admins run operations; only admins manage accounts, fleet records and backups. */
export const STAFF: readonly UserRole[] = ['admin', 'dispatcher'];
export const ADMIN: readonly UserRole[] = ['admin'];
