/** Tracking-page tokens (migration 0014): 32 random bytes in hex, the shape the database's default gives too. */
import { randomBytes } from 'node:crypto';

export const TRACKING_TOKEN_SHAPE = /^[0-9a-f]{64}$/;

export function newTrackingToken(): string {
  return randomBytes(32).toString('hex');
}
