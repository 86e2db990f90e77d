/**
 * Who is behind an access token, cached in memory so the hot path (a GPS post)
 * does not query PostgreSQL. Logout and deactivation are announced on a Redis
 * channel and evict entries in every API replica at once; the short TTL bounds
 * staleness if an announcement is missed (Redis down at that moment).
 *
 * A load that was already running when an eviction arrived may have read the
 * session before the change that caused it: its answer serves the request that
 * asked, but is not cached (the eviction generation moved on), and the eviction
 * drops it as the shared load so later requests read afresh.
 */
import type { RedisClient } from './redis.js';
import type { Logger } from './logger.js';

interface Entry<P> {
  /** Kept even when the session is invalid, so evicting a user also drops its negative entries. */
  userId: number;
  principal: P | undefined;
  expiresAt: number;
}

interface Loading<P> {
  userId: number;
  promise: Promise<P | undefined>;
}

/** Reads who is behind a session from the source of truth (db/sessions.ts loadPrincipal); undefined when it is no longer valid. */
export type PrincipalLoader<P> = (sessionId: string) => Promise<P | undefined>;

export class PrincipalCache<P> {
  private readonly entries = new Map<string, Entry<P>>();
  private readonly loading = new Map<string, Loading<P>>();
  /** Moves on with every eviction; a load started under an older one is not cached. */
  private generation = 0;

  constructor(
    private readonly load: PrincipalLoader<P>,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 100_000,
    /** How long a known session keeps working while PostgreSQL cannot be asked (GPS posts need only Redis). */
    private readonly staleIfErrorMs = 10 * 60_000,
  ) {}

  async get({ sessionId, userId }: { sessionId: string; userId: number }): Promise<P | undefined> {
    const entry = this.entries.get(sessionId);
    if (entry && entry.expiresAt > Date.now()) return entry.principal;
    // Concurrent requests of one session share one query.
    let pending = this.loading.get(sessionId);
    if (!pending) {
      const load: Loading<P> = {
        userId,
        promise: this.load(sessionId).finally(() => {
          if (this.loading.get(sessionId) === load) this.loading.delete(sessionId);
        }),
      };
      this.loading.set(sessionId, load);
      pending = load;
    }
    const startedIn = this.generation;
    let principal: P | undefined;
    try {
      principal = await pending.promise;
    } catch (err) {
      // Database down: a session we validated recently stays valid a while (logout and
      // deactivation evict entries through the announcements, so this never revives one).
      if (entry?.principal && Date.now() - entry.expiresAt < this.staleIfErrorMs) return entry.principal;
      throw err;
    }
    if (startedIn !== this.generation) return principal;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sessionId, { userId, principal, expiresAt: Date.now() + this.ttlMs });
    return principal;
  }

  evictSession(sessionId: string): void {
    this.generation += 1;
    this.entries.delete(sessionId);
    this.loading.delete(sessionId);
  }

  evictUser(userId: number): void {
    this.generation += 1;
    for (const [key, entry] of this.entries) if (entry.userId === userId) this.entries.delete(key);
    for (const [key, load] of this.loading) if (load.userId === userId) this.loading.delete(key);
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.loading.clear();
  }
}

/** Announces and applies evictions across API replicas over Redis pub/sub. */
export class AuthAnnouncer<P> {
  private subscriber: RedisClient | undefined;

  constructor(
    private readonly publisher: RedisClient,
    private readonly channel: string,
    private readonly cache: PrincipalCache<P>,
    private readonly log: Logger,
  ) {}

  /** Subscribes on a dedicated connection; after any reconnect the cache is emptied, since messages may have been missed. */
  async start(subscriber: RedisClient): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => this.apply(message));
    subscriber.on('ready', () => this.cache.clear());
    await subscriber.subscribe(this.channel).catch((err: unknown) => this.log.warn({ err }, 'auth channel subscribe failed; retrying on reconnect'));
  }

  async sessionRevoked(sessionId: string): Promise<void> {
    await this.announce(`session:${sessionId}`);
  }

  async userChanged(userId: number): Promise<void> {
    await this.announce(`user:${userId}`);
  }

  private async announce(message: string): Promise<void> {
    this.apply(message);
    await this.publisher.publish(this.channel, message).catch((err: unknown) => {
      this.log.warn({ err }, 'auth eviction not announced; other replicas evict when their cache entry expires');
    });
  }

  private apply(message: string): void {
    const [kind, id] = message.split(':');
    if (kind === 'session' && id) this.cache.evictSession(id);
    if (kind === 'user' && id) this.cache.evictUser(Number(id));
  }
}
