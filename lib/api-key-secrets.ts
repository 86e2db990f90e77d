/**
 * Secrets of API keys: `uvk_` and 32 random bytes in base64url (256 bits, so a fast
 * sha256 is a sound way to store them: there is nothing to brute-force). Only the hash
 * is stored; the first characters are kept as a prefix so an admin can tell keys apart.
 */
import { createHash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'uvk_';
/** What a well-formed key looks like; anything else is refused without a database look-up. */
export const API_KEY_SHAPE = /^uvk_[A-Za-z0-9_-]{43}$/;

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newApiKeySecret(): { secret: string; hash: string; prefix: string } {
  const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { secret, hash: hashApiKey(secret), prefix: secret.slice(0, API_KEY_PREFIX.length + 6) };
}
