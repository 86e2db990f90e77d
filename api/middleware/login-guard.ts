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
 * The account key is the identifier's counter key (domain/sign-in-identifier.ts), the
 * normalisation the account lookup uses too: Unicode variants of one address ('İ',
 * fullwidth letters, the KELVIN SIGN) count against that address, not a fresh budget.
 *
 * Counts live in Redis (every API replica sees them); without Redis, sign-in answers
 * 503 rather than running unguarded.
 */
import type { RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { RedisClient } from '../../lib/redis.js';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { normalizeSignInIdentifier } from '../../domain/sign-in-identifier.js';
import type { RateLimitConfig } from '../../lib/config.js';
import { AppError, UnavailableError } from '../../lib/errors/index.js';

/** A failure counter and what to say when it is full. */
interface FailureLimit {
  limiter: RateLimiterRedis;
  limit: number;
  code: string;
  policy: string;
  message: string;
}

const UNCHECKABLE = 'sign-in is unavailable while its brute-force protection cannot be checked; retry shortly';

export class LoginGuard {
  private readonly byIp: FailureLimit;
  private readonly byAccount: FailureLimit;
  /** Finished failures per account, for the slowdown only. */
  private readonly accountFailures: RateLimiterRedis;

  constructor(
    redis: RedisClient,
    prefix: string,
    private readonly config: RateLimitConfig,
  ) {
    const common = { storeClient: redis, duration: config.lockoutSeconds, rejectIfRedisNotReady: true };
    this.byIp = {
      limiter: new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-fail:ip`, points: config.loginIpFailures }),
      limit: config.loginIpFailures,
      code: 'rate_limited',
      policy: 'login-ip',
      message: 'too many failed sign-ins from this address',
    };
    this.byAccount = {
      limiter: new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-fail:account`, points: config.loginAccountFailures }),
      limit: config.loginAccountFailures,
      code: 'account_locked',
      policy: 'login-account',
      message: 'account temporarily locked after repeated failed sign-ins',
    };
    this.accountFailures = new RateLimiterRedis({ ...common, keyPrefix: `${prefix}:login-failed:account`, points: 1_000_000 });
  }

  private refuse({ limit, code, policy, message }: FailureLimit, msBeforeNext: number): AppError {
    const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return new AppError(
      429,
      code,
      `${message}; retry in ${seconds} s`,
      { retry_after_seconds: seconds },
      {
        'Retry-After': String(seconds),
        RateLimit: `"${policy}"; r=0; t=${seconds}`,
        'RateLimit-Policy': `"${policy}"; q=${limit}; w=${this.config.lockoutSeconds}`,
      },
    );
  }

  middleware(): RequestHandler {
    return async (req, res, next) => {
      // The same normalisation as the account lookup: every spelling of one address shares one budget.
      const account = normalizeSignInIdentifier(String(req.body?.username ?? req.body?.email ?? '')).counterKey;
      const ip = ipKeyGenerator(req.ip ?? 'unknown');
      let states: (RateLimiterRes | null)[];
      try {
        states = await Promise.all([this.byAccount.limiter.get(account), this.byIp.limiter.get(ip), this.accountFailures.get(account)]);
      } catch {
        return next(new UnavailableError('redis', UNCHECKABLE));
      }
      const [accountState, ipState, finishedState] = states;
      // A locked key is refused before any slowdown.
      for (const [rule, state] of [
        [this.byAccount, accountState],
        [this.byIp, ipState],
      ] as const) {
        if ((state?.consumedPoints ?? 0) >= rule.limit) return next(this.refuse(rule, state!.msBeforeNext));
      }
      // Each failure past the first few makes the next answer slower.
      const over = (finishedState?.consumedPoints ?? 0) - this.config.slowdownAfter + 1;
      if (over > 0) await new Promise((r) => setTimeout(r, Math.min(5000, over * this.config.slowdownStepMs)));
      const limiters = [
        { rule: this.byAccount, key: account, strict: true },
        { rule: this.byIp, key: ip, strict: (ipState?.consumedPoints ?? 0) > 0 },
      ];
      const reserved: typeof limiters = [];
      for (const entry of limiters.filter((l) => l.strict)) {
        try {
          await entry.rule.limiter.consume(entry.key);
          reserved.push(entry);
        } catch (rejection) {
          await Promise.all(reserved.map((r) => r.rule.limiter.reward(r.key))).catch(() => {});
          if (!(rejection instanceof RateLimiterRes)) return next(new UnavailableError('redis', UNCHECKABLE));
          return next(this.refuse(entry.rule, rejection.msBeforeNext));
        }
      }
      res.once('close', () => {
        // A failure keeps its reservation and is counted on the keys that had none; a
        // success gives reservations back. An attempt cut off before its answer keeps them.
        const failed = res.statusCode === 401;
        const settle = failed
          ? [...limiters.filter((l) => !l.strict).map((l) => l.rule.limiter.penalty(l.key)), this.accountFailures.penalty(account)]
          : res.writableFinished
            ? reserved.map((r) => r.rule.limiter.reward(r.key))
            : [];
        Promise.all(settle).catch((err: unknown) => req.log.warn({ err }, 'sign-in attempt not settled in the brute-force counts'));
      });
      next();
    };
  }
}
