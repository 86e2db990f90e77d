/**
 * Read-through cache in Redis with generation counters. Invalidation bumps the
 * generation; a value computed before the bump carries the old generation and is
 * ignored, so a reader racing a writer can never leave a stale answer behind.
 * The cache is an optimisation only: when Redis fails, reads go to the loader.
 *
 * An entry's generation and value share a hash tag (the entry's name in braces), so the
 * one MGET that reads both stays in one slot on a Redis Cluster.
 */
import type { RedisClient } from './redis.js';
import type { Logger } from './logger.js';

interface Entry<T> {
  g: number;
  v: T;
}

export class Cache {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  private genKey(name: string): string {
    return `${this.prefix}:cache:{${name}}:gen`;
  }

  private valueKey(name: string): string {
    return `${this.prefix}:cache:{${name}}:val`;
  }

  async getOrLoad<T>(name: string, ttlSeconds: number, load: () => Promise<T>): Promise<T> {
    let generation: number;
    try {
      const [gen, raw] = await this.redis.mget(this.genKey(name), this.valueKey(name));
      generation = Number(gen ?? 0);
      if (raw) {
        const entry = JSON.parse(raw) as Entry<T>;
        if (entry.g === generation) return entry.v;
      }
    } catch (err) {
      this.log.warn({ err, cache: name }, 'cache read failed; loading from the database');
      return load();
    }
    const value = await load();
    this.redis
      .set(this.valueKey(name), JSON.stringify({ g: generation, v: value } satisfies Entry<T>), 'EX', ttlSeconds)
      .catch((err: unknown) => this.log.warn({ err, cache: name }, 'cache write failed'));
    return value;
  }

  /** Call after the change has committed. */
  async invalidate(...names: string[]): Promise<void> {
    if (names.length === 0) return;
    try {
      // One pipeline per entry: entries live in different slots of a cluster.
      // The generation outlives any value written under it (values expire sooner).
      const results = await Promise.all(
        names.map((name) =>
          this.redis
            .pipeline()
            .incr(this.genKey(name))
            .expire(this.genKey(name), 7 * 86_400)
            .exec(),
        ),
      );
      const failed = results.flatMap((replies) => replies ?? []).find(([err]) => err);
      if (failed) throw failed[0];
    } catch (err) {
      // Values expire by TTL; the worker's follow-up job invalidates again once Redis is back.
      this.log.warn({ err, caches: names }, 'cache invalidation failed');
    }
  }
}

/** Names of cached values, in one place so writers and readers agree. */
export const cacheNames = {
  driverSummary: (driverId: number) => `summary:driver:${driverId}`,
  orderStatusCounts: () => 'orders:status-counts',
};
