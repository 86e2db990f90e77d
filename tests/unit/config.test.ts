import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('configuration', () => {
  it('has working development defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.env).toBe('development');
    expect(config.role).toBe('all');
    expect(config.demoData).toBe(true);
    // No WORKER_QUEUES: every queue of the job catalogue (tests/unit/catalogue.test.ts).
    expect(config.worker.queues).toBeUndefined();
    expect(config.redisPrefix).toBe('uvis');
  });

  it('reports every bad key together in one message', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', ROLE: 'boss', WORKER_CONCURRENCY: '0', REDIS_URL: 'http://x', DEMO_DATA: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const key of ['PORT', 'ROLE', 'WORKER_CONCURRENCY', 'REDIS_URL', 'DEMO_DATA']) expect(message).toContain(key);
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('refuses a missing, short or well-known JWT secret in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toContain('JWT_SECRET: required in production');
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short' })[0]).toMatch(/at least 32/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'uvis-development-secret-do-not-use-in-production' })[0]).toMatch(/well-known/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(48) })).toEqual([]);
  });

  it('refuses demo data and disabled rate limits in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'k'.repeat(40), DEMO_DATA: 'true', RATE_LIMITS: 'off' });
    expect(problems.some((p) => p.startsWith('DEMO_DATA'))).toBe(true);
    expect(problems.some((p) => p.startsWith('RATE_LIMITS'))).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'k'.repeat(40) }).demoData).toBe(false);
  });

  it('passes WORKER_QUEUES through as a list for the job catalogue to check', () => {
    expect(loadConfig({ WORKER_QUEUES: 'locations, orders' }).worker.queues).toEqual(['locations', 'orders']);
  });

  it('uses strict rate limits in production and generous ones in development', () => {
    const production = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'k'.repeat(40) }).rateLimits;
    const development = loadConfig({}).rateLimits;
    expect(production.loginAccountFailures).toBeLessThan(development.loginAccountFailures);
    expect(production.general).toBeLessThan(development.general);
    expect(loadConfig({ RATE_LIMIT_LOCATION: '7' }).rateLimits.location).toBe(7);
  });
});

describe('backup configuration', () => {
  it('defaults to a local folder, Seoul time, 03:00 daily and Sunday 04:00 weekly, 30 days', () => {
    const { backup } = loadConfig({});
    expect(backup).toMatchObject({ targets: ['local'], timezone: 'Asia/Seoul', retentionDays: 30 });
    expect(loadConfig({}).schedules).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).schedules).toBe(false);
    expect(backup.cron).toEqual({ daily: '0 3 * * *', weekly: '0 4 * * 0', verify: '30 5 * * *', retention: '0 6 * * *' });
  });

  it('requires the bucket and credentials for the S3 target, and refuses bad schedules and zones', () => {
    const problems = problemsOf({ BACKUP_TARGETS: 'local,s3,tape', BACKUP_DAILY_CRON: 'every night', BACKUP_TIMEZONE: 'Mars/Olympus' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^BACKUP_TARGETS: unknown target\(s\) tape/),
        'BACKUP_S3_BUCKET: required when BACKUP_TARGETS includes s3',
        'BACKUP_S3_ACCESS_KEY_ID: required when BACKUP_TARGETS includes s3',
        'BACKUP_S3_SECRET_ACCESS_KEY: required when BACKUP_TARGETS includes s3',
        'BACKUP_DAILY_CRON: not a cron expression: "every night"',
        'BACKUP_TIMEZONE: unknown time zone "Mars/Olympus"',
      ]),
    );
  });
});
