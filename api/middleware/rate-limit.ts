/**
 * Rate limits kept in Redis so they hold across API replicas. Numbers come from
 * configuration (see the README): a general limit per user, a higher one for GPS
 * posts, and sign-in attempts per address. Sign-in also has its own guard
 * (login-guard.ts), which counts failures.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { loadScriptEverywhere, type RedisClient } from '../../lib/redis.js';
import { rateLimit, ipKeyGenerator, type Options } from 'express-rate-limit';
import { LOGIN_ATTEMPT_WINDOW_SECONDS, type RateLimitConfig } from '../../lib/config.js';
import { AppError } from '../../lib/errors/index.js';
import type { Logger } from '../../lib/logger.js';

const passThrough: RequestHandler = (_req, _res, next) => next();

/**
 * SCRIPT LOAD goes to every master (on a cluster, EVALSHA runs on the master of its key,
 * and a replica promoted by a failover answers NOSCRIPT, upon which the store loads
 * again). It falls back to the script's SHA computed here when Redis is down at
 * start-up; otherwise rate-limit-redis would cache the failed load forever. The
 * next EVALSHA answers NOSCRIPT and the store loads the script for real.
 */
function store(redis: RedisClient, prefix: string): RedisStore {
  return new RedisStore({
    prefix,
    sendCommandCluster: async ({ command: [name, ...args] }) => {
      if (name === 'SCRIPT' && args[0] === 'LOAD') {
        try {
          return await loadScriptEverywhere(redis, args[1]!);
        } catch {
          return createHash('sha1').update(args[1]!).digest('hex');
        }
      }
      return redis.call(name!, ...args) as Promise<RedisReply>;
    },
  });
}

function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && (ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.'));
}

function limitReached(code: string, message: (retryAfter: string) => string): Options['handler'] {
  return (_req, res, next) => {
    const retryAfter = String(res.getHeader('Retry-After') ?? '60');
    next(new AppError(429, code, message(retryAfter), { retry_after_seconds: Number(retryAfter) }));
  };
}

/**
 * A Redis outage must not take down routes that do not need Redis: the limiter
 * steps aside (logged through our logger, not the library's console output).
 */
function failOpen(limiter: RequestHandler, log: Logger, name: string): RequestHandler {
  return (req, res, next) =>
    limiter(req, res, (err?: unknown) => {
      if (err && !(err instanceof AppError)) {
        log.warn({ err, limiter: name }, 'rate limit store unavailable; request allowed without limiting');
        return next();
      }
      next(err);
    });
}

export class RateLimits {
  readonly general: RequestHandler;
  readonly location: RequestHandler;
  /** Sign-in attempts per address, whatever their outcome: a parallel burst across many accounts stops here. */
  readonly loginAttempts: RequestHandler;
  /** Routes without sign-in (health, readiness, sign-in, refresh, /metrics), per client address. */
  readonly public: RequestHandler;
  /**
   * Requests carrying an API key that was refused (401), per client address, counted before the
   * key is looked up: a flood of made-up keys stops at Redis instead of costing a database read
   * each. As many as failed sign-ins per address (RATE_LIMIT_LOGIN_IP_FAILURES) per window; keys
   * that authenticate (any other answer) do not count.
   */
  readonly refusedApiKeys: RequestHandler;

  constructor(redis: RedisClient, prefix: string, config: RateLimitConfig, log: Logger) {
    if (!config.enabled) {
      this.general = this.location = this.loginAttempts = this.public = this.refusedApiKeys = passThrough;
      return;
    }
    const common = {
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      // express-rate-limit's own start-up checks print to the console; our keys are user ids, not IPs.
      validate: { keyGeneratorIpFallback: false },
    } as const;
    // Per user; a vehicle gateway or a shipper's integration (no user) per API key.
    const byUser = (req: Parameters<NonNullable<Options['keyGenerator']>>[0]) => {
      const locals = req.res?.locals;
      if (locals?.principal?.userId !== undefined) return String(locals.principal.userId);
      const keyId = locals?.vehicleKey?.keyId ?? locals?.shipper?.keyId;
      return keyId !== undefined ? `key:${keyId}` : 'anonymous';
    };
    const windowMs = config.windowSeconds * 1000;
    this.general = failOpen(
      rateLimit({
        ...common,
        windowMs,
        limit: config.general,
        identifier: 'general',
        keyGenerator: byUser,
        store: store(redis, `${prefix}:rl:general:`),
        handler: limitReached('rate_limited', (s) => `too many requests; retry in ${s} s`),
      }),
      log,
      'general',
    );
    this.location = failOpen(
      rateLimit({
        ...common,
        windowMs,
        limit: config.location,
        identifier: 'location',
        keyGenerator: byUser,
        store: store(redis, `${prefix}:rl:location:`),
        handler: limitReached('rate_limited', (s) => `too many location posts; retry in ${s} s`),
      }),
      log,
      'location',
    );
    // Loopback callers are the machine itself (a container's health check, a local
    // Prometheus); behind the proxy req.ip is the client's address (trust proxy), so
    // outside callers never look like loopback.
    this.public = failOpen(
      rateLimit({
        ...common,
        windowMs,
        limit: config.publicPerAddress,
        identifier: 'public',
        skip: (req) => isLoopback(req.ip),
        keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
        store: store(redis, `${prefix}:rl:public:`),
        handler: limitReached('rate_limited', (s) => `too many requests from this address; retry in ${s} s`),
      }),
      log,
      'public',
    );
    const refusedKeys = failOpen(
      rateLimit({
        ...common,
        windowMs,
        limit: config.loginIpFailures,
        identifier: 'refused-api-keys',
        skipSuccessfulRequests: true,
        requestWasSuccessful: (_req, res) => res.statusCode !== 401,
        keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
        store: store(redis, `${prefix}:rl:refused-keys:`),
        handler: limitReached('rate_limited', (s) => `too many refused API keys from this address; retry in ${s} s`),
      }),
      log,
      'refused-api-keys',
    );
    this.refusedApiKeys = (req, res, next) => (req.headers['x-api-key'] !== undefined ? refusedKeys(req, res, next) : next());
    // Fails open like the others: without Redis the sign-in guard answers 503 anyway.
    this.loginAttempts = failOpen(
      rateLimit({
        ...common,
        windowMs: LOGIN_ATTEMPT_WINDOW_SECONDS * 1000,
        limit: config.loginIpAttempts,
        identifier: 'login-attempts',
        keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
        store: store(redis, `${prefix}:rl:login-ip:`),
        handler: limitReached('rate_limited', (s) => `too many sign-in attempts from this address; retry in ${s} s`),
      }),
      log,
      'login-attempts',
    );
  }
}
