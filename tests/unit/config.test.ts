import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, secretWeakness } from '../../lib/config.js';

/** What production needs besides the setting under test. */
const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: 'q8Vn3+Zt0pLw7sXc2bYr5mKa9dHf4jGe6uTi1oPz',
  METRICS_TOKEN: '3f9a2c7e1b8d4a6f0c5e',
  WEBHOOK_SECRET_KEY: 'Xb3kP9qL2vN7sR4tW8yB1cF6hJ0mQ5dG8aE3uI7oP1s=',
};

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

  it('reads Redis Cluster seed nodes and the replica wait, off by default, and refuses a node without a port', () => {
    const single = loadConfig({});
    expect(single.redisClusterNodes).toBeUndefined();
    expect(single.redisWait).toEqual({ replicas: 0, timeoutMs: 500 });
    const cluster = loadConfig({ REDIS_CLUSTER_NODES: 'redis-0.redis:6379, 10.0.0.7:7001', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '250' });
    expect(cluster.redisClusterNodes).toEqual([
      { host: 'redis-0.redis', port: 6379 },
      { host: '10.0.0.7', port: 7001 },
    ]);
    expect(cluster.redisWait).toEqual({ replicas: 1, timeoutMs: 250 });
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'redis-0.redis' })).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES.*host:port/)]);
    expect(problemsOf({ REDIS_WAIT_REPLICAS: '-1' })).toEqual([expect.stringMatching(/^REDIS_WAIT_REPLICAS/)]);
  });

  it('reaches the database directly at DATABASE_URL unless DATABASE_DIRECT_URL names another way (past PgBouncer)', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://uvis@db:5432/uvis' }).databaseDirectUrl).toBe('postgres://uvis@db:5432/uvis');
    const behindPgBouncer = loadConfig({ DATABASE_URL: 'postgres://uvis@pgbouncer:6432/uvis', DATABASE_DIRECT_URL: 'postgres://uvis@db:5432/uvis' });
    expect([behindPgBouncer.databaseUrl, behindPgBouncer.databaseDirectUrl]).toEqual(['postgres://uvis@pgbouncer:6432/uvis', 'postgres://uvis@db:5432/uvis']);
    expect(problemsOf({ DATABASE_DIRECT_URL: 'db:5432/uvis' })).toEqual(['DATABASE_DIRECT_URL: expected a postgres:// URL']);
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
    expect(problemsOf({ ...PRODUCTION, JWT_SECRET: 'short' })[0]).toMatch(/at least 32/);
    expect(problemsOf({ ...PRODUCTION, JWT_SECRET: 'uvis-development-secret-do-not-use-in-production' })[0]).toMatch(/well-known/);
    expect(problemsOf(PRODUCTION)).toEqual([]);
  });

  it('refuses low-entropy JWT secrets in production: repeated, sequential, padded defaults', () => {
    const cases: [string, RegExp][] = [
      ['a'.repeat(32), /too few distinct characters/],
      ['x'.repeat(48), /too few distinct characters/],
      ['12345678901234567890123456789012', /repeats a 10-character pattern/],
      ['1234567890'.repeat(4), /repeats a 10-character pattern/],
      ['0123456789abcdefghijklmnopqrstuvwxyz', /consecutive/],
      ['  uvis-development-secret-do-not-use-in-production  ', /well-known default/],
      [' secret' + ' '.repeat(40), /at least 32/],
      ['changeme'.repeat(4), /well-known default/],
      ['your-secret-key-your-secret-key-123', /well-known default/],
      ['Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3', /repeats a 11-character pattern/],
      ['abababababababababababababababcdefgh', /repeats a 2-character pattern/],
    ];
    for (const [secret, reason] of cases) {
      const problem = problemsOf({ ...PRODUCTION, JWT_SECRET: secret }).find((p) => p.startsWith('JWT_SECRET'));
      expect(problem, JSON.stringify(secret)).toMatch(reason);
      expect(problem).toContain('openssl rand -base64 48');
    }
  });

  it('accepts random secrets (openssl rand -base64 48, -hex 32, 24 random bytes in base64) every time', () => {
    for (let i = 0; i < 2000; i++) {
      for (const secret of [
        randomBytes(48).toString('base64'),
        randomBytes(32).toString('hex'),
        randomBytes(24).toString('base64'),
        randomBytes(32).toString('base64url'),
      ]) {
        expect(secretWeakness(secret), secret).toBeUndefined();
      }
    }
    // With a trailing newline, as `openssl rand -base64 48 > file` leaves it.
    expect(problemsOf({ ...PRODUCTION, JWT_SECRET: `${randomBytes(48).toString('base64')}\n` })).toEqual([]);
  });

  it('requires METRICS_TOKEN in production, with a clear error', () => {
    const { METRICS_TOKEN: _unused, ...withoutToken } = PRODUCTION;
    expect(problemsOf(withoutToken)).toEqual([expect.stringMatching(/^METRICS_TOKEN: required in production .*openssl rand -hex 32/)]);
    expect(problemsOf({ NODE_ENV: 'development' })).toEqual([]);
  });

  it('bounds receiving a request to seconds by default, and keeps headers within the request bound', () => {
    expect(loadConfig({}).http).toEqual({ headersTimeoutMs: 5000, requestTimeoutMs: 10_000, uploadTimeoutMs: 300_000 });
    expect(loadConfig({ REQUEST_TIMEOUT_MS: '3000', HEADERS_TIMEOUT_MS: '2000' }).http).toEqual({
      headersTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      uploadTimeoutMs: 300_000,
    });
    expect(problemsOf({ REQUEST_TIMEOUT_MS: '3000', HEADERS_TIMEOUT_MS: '4000' })).toEqual(['HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS']);
  });

  it('serves the API reference by default except in production (API_DOCS)', () => {
    expect(loadConfig({}).apiDocs).toBe(true);
    expect(loadConfig(PRODUCTION).apiDocs).toBe(false);
    expect(loadConfig({ ...PRODUCTION, API_DOCS: 'on' }).apiDocs).toBe(true);
    expect(loadConfig({ API_DOCS: 'off' }).apiDocs).toBe(false);
  });

  it('refuses demo data and disabled rate limits in production', () => {
    const problems = problemsOf({ ...PRODUCTION, DEMO_DATA: 'true', RATE_LIMITS: 'off' });
    expect(problems.some((p) => p.startsWith('DEMO_DATA'))).toBe(true);
    expect(problems.some((p) => p.startsWith('RATE_LIMITS'))).toBe(true);
    expect(loadConfig(PRODUCTION).demoData).toBe(false);
  });

  it('passes WORKER_QUEUES through as a list for the job catalogue to check', () => {
    expect(loadConfig({ WORKER_QUEUES: 'locations, orders' }).worker.queues).toEqual(['locations', 'orders']);
  });

  it('uses strict rate limits in production and generous ones in development', () => {
    const production = loadConfig(PRODUCTION).rateLimits;
    const development = loadConfig({}).rateLimits;
    expect(production.loginAccountFailures).toBeLessThan(development.loginAccountFailures);
    expect(production.general).toBeLessThan(development.general);
    expect(production.publicPerAddress).toBe(600);
    expect(production.publicPerAddress).toBeLessThan(development.publicPerAddress);
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
