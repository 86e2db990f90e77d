/**
 * Read-through cache in Redis with generation counters. Invalidation bumps the
 * generation; a value computed before the bump carries the old generation and is
 * ignored, so a reader racing a writer can never leave a stale answer behind.
 * The cache is an optimisation only: when Redis fails, reads go to the loader.
 */
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';

interface Entry<T> {
  g: number;
  v: T;
}

export class Cache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  private genKey(name: string): string {
    return `${this.prefix}:cache:gen:${name}`;
  }

  private valueKey(name: string): string {
    return `${this.prefix}:cache:val:${name}`;
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
      const pipeline = this.redis.pipeline();
      // The generation outlives any value written under it (values expire sooner).
      for (const name of names) pipeline.incr(this.genKey(name)).expire(this.genKey(name), 7 * 86_400);
      await pipeline.exec();
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
