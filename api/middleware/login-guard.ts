/**
 * Brute-force protection for sign-in, counting failures. Each attempt first reads the
 * failure counts of its account and address (refusing a locked one with 429 and
 * Retry-After) and waits longer for each failure past the first few.
 *
 * Per account, every attempt reserves a failure atomically before it runs and gets it
 * back if it succeeds: a parallel burst of guesses at one account gets no more tries
 * than the limit, and successes never count once they are done. Because that counter
 * also holds attempts in flight, the slowdown reads a second one that counts finished
 * failures only (a thousand users signing in to one shared account are not slowed).
 *
 * Per address, a clean key is trusted: the attempt goes ahead and only a failure (401)
 * is counted, afterwards, so a burst of correct sign-ins from one NAT address (a fleet
 * starting its shift) is never refused for being a burst. An address that has failed
 * before reserves like an account. The first wave of guesses across many accounts from
 * a clean address is capped by the per-address attempt limit (rate-limit.ts,
 * RATE_LIMIT_LOGIN_IP_ATTEMPTS per 10 s), which runs before this guard.
 *
 * Counts live in Redis (every API replica sees them); without Redis, sign-in answers
 * 503 rather than running unguarded.
 */
import type { RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../../lib/config.js';
import { AppError, UnavailableError } from '../../lib/errors/index.js';

export class LoginGuard {
  private readonly byIp: RateLimiterRedis;
  private readonly byAccount: RateLimiterRedis;
  /** Finished failures per account, for the slowdown only. */
  private readonly accountFailures: RateLimiterRedis;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly config: RateLimitConfig,
  ) {
    const common = { storeClient: redis, duration: config.lockoutSeconds, rejectIfRedisNotReady: true };
    this.byIp = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-fail:ip`, points: config.loginIpFailures });
    this.byAccount = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-fail:account`, points: config.loginAccountFailures });
    this.accountFailures = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-failed:account`, points: 1_000_000 });
  }

  private refuse(code: string, policy: string, limit: number, msBeforeNext: number, message: string): AppError {
    const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return new AppError(429, code, `${message}; retry in ${seconds} s`, { retry_after_seconds: seconds }, {
      'Retry-After': String(seconds),
      RateLimit: `"${policy}"; r=0; t=${seconds}`,
      'RateLimit-Policy': `"${policy}"; q=${limit}; w=${this.config.lockoutSeconds}`,
    });
  }

  middleware(): RequestHandler {
    return async (req, res, next) => {
      const account = String(req.body?.username ?? req.body?.email ?? '').trim().toLowerCase();
      const ip = ipKeyGenerator(req.ip ?? 'unknown');
      let failures: { ip: number; ipMs: number; account: number; accountMs: number; accountFinished: number };
      try {
        const [ipState, accountState, finishedState] = await Promise.all([this.byIp.get(ip), this.byAccount.get(account), this.accountFailures.get(account)]);
        failures = {
          ip: ipState?.consumedPoints ?? 0,
          ipMs: ipState?.msBeforeNext ?? 0,
          account: accountState?.consumedPoints ?? 0,
          accountMs: accountState?.msBeforeNext ?? 0,
          accountFinished: finishedState?.consumedPoints ?? 0,
        };
      } catch {
        return next(new UnavailableError('redis', 'sign-in is unavailable while its brute-force protection cannot be checked; retry shortly'));
      }
      if (failures.account >= this.config.loginAccountFailures) {
        return next(this.refuse('account_locked', 'login-account', this.config.loginAccountFailures, failures.accountMs, 'account temporarily locked after repeated failed sign-ins'));
      }
      if (failures.ip >= this.config.loginIpFailures) {
        return next(this.refuse('rate_limited', 'login-ip', this.config.loginIpFailures, failures.ipMs, 'too many failed sign-ins from this address'));
      }
      // Each failure past the first few makes the next answer slower.
      const over = failures.accountFinished - this.config.slowdownAfter + 1;
      if (over > 0) await new Promise((r) => setTimeout(r, Math.min(5000, over * this.config.slowdownStepMs)));
      const limiters = [
        { limiter: this.byAccount, key: account, strict: true },
        { limiter: this.byIp, key: ip, strict: failures.ip > 0 },
      ];
      const reserved: typeof limiters = [];
      for (const entry of limiters.filter((l) => l.strict)) {
        try {
          await entry.limiter.consume(entry.key);
          reserved.push(entry);
        } catch (rejection) {
          await Promise.all(reserved.map((r) => r.limiter.reward(r.key))).catch(() => {});
          if (!(rejection instanceof RateLimiterRes)) {
            return next(new UnavailableError('redis', 'sign-in is unavailable while its brute-force protection cannot be checked; retry shortly'));
          }
          return next(
            entry.limiter === this.byAccount
              ? this.refuse('account_locked', 'login-account', this.config.loginAccountFailures, rejection.msBeforeNext, 'account temporarily locked after repeated failed sign-ins')
              : this.refuse('rate_limited', 'login-ip', this.config.loginIpFailures, rejection.msBeforeNext, 'too many failed sign-ins from this address'),
          );
        }
      }
      res.once('close', () => {
        // A failure keeps its reservation and is counted on the keys that had none; a
        // success gives reservations back. An attempt cut off before its answer keeps them.
        const failed = res.statusCode === 401;
        const settle = failed
          ? [...limiters.filter((l) => !l.strict).map((l) => l.limiter.penalty(l.key)), this.accountFailures.penalty(account)]
          : res.writableFinished
            ? reserved.map((r) => r.limiter.reward(r.key))
            : [];
        Promise.all(settle).catch((err: unknown) => req.log.warn({ err }, 'sign-in attempt not settled in the brute-force counts'));
      });
      next();
    };
  }
}
