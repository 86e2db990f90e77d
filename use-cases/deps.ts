/**
 * What use-cases may use: the database, caches, session announcements, and a way to
 * wake the outbox relay. Nothing of HTTP or of the queues themselves: a use-case
 * announces its follow-up work as outbox rows in its own transaction.
 */
import type { Principal } from '../db/sessions.js';
import type { Db } from '../db/knex.js';
import type { Cache } from '../lib/cache.js';
import type { Logger } from '../lib/logger.js';
import type { AuthAnnouncer } from '../lib/principal-cache.js';

export interface UseCaseDeps {
  db: Db;
  cache: Cache;
  log: Logger;
  /** The outbox relay (jobs/outbox-relay.ts): kicked after a commit so its rows go out at once. */
  relay: { kick(): void };
  auth: AuthAnnouncer<Principal>;
}
