/**
 * Idempotency-Key for GPS and temperature posts, kept in Redis: these posts go to the queue, not to
 * PostgreSQL, and the hot path must not wait on the database. The first post with a
 * key records a fingerprint of its request (SET NX GET: one round trip). A retry with
 * the same request is answered as the first was (Idempotent-Replayed) and adds its
 * job again, which BullMQ ignores while the job exists and which stores nothing twice
 * once it is gone (point keys derive from the job id). The same key with a different
 * request is refused with 422 instead of being silently dropped.
 *
 * Keys live an hour, like completed location jobs: phones retry within minutes, and
 * an offline buffer re-sent later is still stored once by its point ids or fix times.
 * An hour of keys costs about 150 bytes each in Redis.
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { RedisClient } from '../lib/redis.js';
import { AppError } from '../lib/errors/index.js';
import { requestFingerprint } from './idempotency.js';

export const LOCATION_KEY_TTL_SECONDS = 3600;

export interface LocationKeyClaim {
  jobId: string;
  /** True when this key was seen before with the same request. */
  replay: boolean;
  /**
   * Forgets a first claim whose enqueue failed or timed out, so the retry is a first post again.
   * A timed-out add may have run all the same: the retry then adds the same job id, which BullMQ ignores.
   */
  release: () => Promise<void>;
}

/**
 * owner: whose keys these are (a driver id, or `key<id>` for a vehicle gateway's API key);
 * scope: which kind of post ('loc' GPS points, 'temp' temperature readings), so the two never share keys or job ids.
 */
export async function claimLocationKey(
  redis: RedisClient,
  prefix: string,
  req: Request,
  owner: number | string,
  key: string,
  body: unknown,
  scope: 'loc' | 'temp' = 'loc',
): Promise<LocationKeyClaim> {
  const keyHash = createHash('sha256').update(key).digest('hex');
  const marker = `${prefix}:idem:${scope}:${owner}:${keyHash}`;
  const fingerprint = requestFingerprint(req, body).slice(0, 32);
  const previous = await redis.set(marker, fingerprint, 'EX', LOCATION_KEY_TTL_SECONDS, 'NX', 'GET');
  if (previous !== null && previous !== fingerprint) {
    throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request');
  }
  return {
    jobId: `${scope}-${owner}-${keyHash.slice(0, 32)}`,
    replay: previous !== null,
    release: async () => {
      if (previous === null) await redis.del(marker);
    },
  };
}
