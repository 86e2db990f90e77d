/** Everything the HTTP app needs, built once per process by app/start.ts and passed in (tests pass their own). */
import type { RedisClient } from '../lib/redis.js';
import type { BackupStorage } from '../backups/storage.js';
import type { Db } from '../db/knex.js';
import type { Principal } from '../db/sessions.js';
import type { OutboxRelay } from '../jobs/outbox-relay.js';
import type { JobProducer } from '../jobs/producer.js';
import type { Queues } from '../jobs/queues.js';
import type { Cache } from '../lib/cache.js';
import type { Config } from '../lib/config.js';
import type { LivePublisher } from '../lib/live-events.js';
import type { LiveHub } from '../lib/live-subscriber.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import type { AuthAnnouncer, PrincipalCache } from '../lib/principal-cache.js';
import type { TokenService } from '../lib/tokens.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  db: Db;
  /** Fail-fast connection for rate limits, caches, idempotency and pub/sub publishing. */
  redis: RedisClient;
  queues: Queues;
  producer: JobProducer;
  relay: OutboxRelay;
  cache: Cache;
  live: LivePublisher;
  tokens: TokenService;
  principals: PrincipalCache<Principal>;
  auth: AuthAnnouncer<Principal>;
  /** This process's live-update hub: dashboard streams fed by one Redis subscription, opened on first use. */
  liveHub: LiveHub;
  /** Where proof-of-delivery images are kept (backups/proof-storage.ts), made on first use. */
  proofStorage: () => Promise<BackupStorage>;
  /** Flipped to true on SIGTERM: readiness answers 503 so load balancers stop sending traffic. */
  lifecycle: { draining: boolean };
}
