/**
 * The only reader of process.env. Parses every key once, reports every bad key
 * together, and refuses unsafe settings in production.
 */
import cron from 'node-cron';
import { z } from 'zod';
import { projectPath } from './paths.js';
import { DEVELOPMENT_ENCRYPTION_KEY, parseEncryptionKey } from './webhook-secrets.js';

export const ROLES = ['api', 'worker', 'all'] as const;
export type ProcessRole = (typeof ROLES)[number];

const DEV_JWT_SECRET = 'uvis-development-secret-do-not-use-in-production';
// Secrets that show up in tutorials and .env examples; never acceptable in production.
const KNOWN_WEAK_SECRETS = new Set([DEV_JWT_SECRET, 'changeme', 'change-me', 'secret', 'jwt-secret', 'your-secret-key']);

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'expected one of true/false, 1/0, yes/no, on/off',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const weight = z.coerce.number().min(0).max(100);
const port = int(0, 65535);
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  ROLE: z.enum(ROLES).default('all'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(3000),
  METRICS_PORT: port.default(9464),
  METRICS_TOKEN: z.string().min(16).optional(),
  // Swagger UI at /docs and the document at /api/v1/openapi.json; off by default in production.
  API_DOCS: z.enum(['on', 'off']).optional(),
  // How long a client may take to send a request's headers, and the whole request
  // (headers and body). Responses are not bound by them (the dashboard's event stream).
  HEADERS_TIMEOUT_MS: int(1000, 120_000).default(5000),
  REQUEST_TIMEOUT_MS: int(1000, 300_000).default(10_000),
  // A proof upload (a photo from a phone on a slow link) may take this long in all, as long as it
  // never pauses longer than REQUEST_TIMEOUT_MS (api/middleware/receive-deadline.ts).
  UPLOAD_TIMEOUT_MS: int(10_000, 3_600_000).default(300_000),
  TRUST_PROXY: z.string().default('loopback'),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/uvis'),
  // The same database without a pooler in between, for what needs a session of its own: pg_dump
  // and pg_restore (they SET search_path and timeouts for their session, which PgBouncer in
  // transaction mode would leave on a server connection other clients then get) and the backups'
  // scratch databases. Unset: DATABASE_URL (no PgBouncer in front).
  DATABASE_DIRECT_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  DB_POOL_MIN: int(0, 100).default(0),
  DB_POOL_MAX: int(1, 500).default(20),
  DB_STATEMENT_TIMEOUT_MS: int(100, 3_600_000).default(30_000),

  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .default('uvis'),
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000).default(2000),
  // Redis Cluster seed nodes (host:port,...): when set, every Redis user runs in cluster mode and REDIS_URL is not used.
  REDIS_CLUSTER_NODES: list
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port')).min(1, 'expected at least one host:port'))
    .optional(),
  // Replicas that must acknowledge an enqueue (Redis WAIT) before the API answers 202; 0 = off.
  REDIS_WAIT_REPLICAS: int(0, 10).default(0),
  REDIS_WAIT_TIMEOUT_MS: int(10, 60_000).default(500),

  JWT_SECRET: z.string().optional(),
  ACCESS_TOKEN_TTL_SECONDS: int(60, 86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: int(300, 90 * 86_400).default(30 * 86_400),
  BROWSER_SESSION_TTL_SECONDS: int(300, 7 * 86_400).default(8 * 3600),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  WORKER_CONCURRENCY: int(1, 1000).default(20),
  LOCATIONS_CONCURRENCY: int(1, 5000).default(200),
  // Checked against the job catalogue (jobs/index.ts workerQueues): config knows no queue names.
  WORKER_QUEUES: list.optional(),
  LOCATION_BATCH_MAX_POINTS: int(1, 10_000).default(1000),
  LOCATION_BATCH_MAX_WAIT_MS: int(0, 1000).default(20),
  LOCATION_RETENTION_DAYS: int(1, 3650).default(180),
  // HACCP practice keeps temperature records two years (FSMA 12 months, EU Reg. 37/2005 one year).
  TELEMETRY_RETENTION_DAYS: int(1, 3650).default(730),
  // Excursions (DESIGN.md "Cold-chain telemetry and excursions"): out of range this long opens one,
  // back in range this long closes it, no reading this long while on board is a DATA_GAP.
  EXCURSION_OPEN_AFTER_S: int(0, 86_400).default(600),
  EXCURSION_CLOSE_AFTER_S: int(0, 86_400).default(300),
  TELEMETRY_GAP_S: int(1, 86_400).default(900),
  // How often workers re-evaluate on-board dispatches for DATA_GAP (a silence needs time to pass, not a reading).
  TELEMETRY_GAP_CRON: z.string().min(9).default('* * * * *'),
  // The carrier named on the printable temperature record, and a TrueType font with Hangul for it
  // (default: Debian's fonts-nanum NanumGothic; without one the PDF falls back to English labels).
  CARRIER_NAME: z.string().trim().min(1).max(200).default('UVIS'),
  REPORT_FONT_PATH: z.string().min(1).optional(),
  // Where the public reaches this deployment (https://track.example.com): prefixes each order's
  // tracking_url. Unset, tracking_url is a path (/track/<token>) relative to wherever the API is reached.
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  OUTBOX_POLL_MS: int(50, 60_000).default(1000),

  DEMO_DATA: bool.optional(),
  // 15 s: long enough for in-flight requests (milliseconds) and active jobs (a GPS
  // batch commits in tens of ms) to finish, and to fit with the drain delay inside
  // the orchestrator's stop grace (docker-compose.yml gives the API 30 s) so it never
  // SIGKILLs a draining process; a backup interrupted here is retried by its job.
  // Every step runs even if this runs out (lib/shutdown.ts).
  SHUTDOWN_TIMEOUT_MS: int(1000, 120_000).default(15_000),
  // 0 by default (a lone process has nobody to drain from); behind a load balancer set
  // it above the balancer's health-check interval (the compose file uses 5 s).
  SHUTDOWN_DRAIN_DELAY_MS: int(0, 60_000).default(0),
  CORS_ORIGINS: list.default([]),

  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_TARGETS: list.default(['local']),
  BACKUP_S3_ENDPOINT: z.url().optional(),
  BACKUP_S3_REGION: z.string().min(1).default('us-east-1'),
  BACKUP_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')
    .optional(),
  BACKUP_S3_PREFIX: z
    .string()
    .regex(/^[\w\-./]*$/, 'letters, digits, - _ . / only')
    .default('uvis/'),
  BACKUP_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  BACKUP_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  BACKUP_S3_FORCE_PATH_STYLE: bool.default(true),
  BACKUP_TIMEZONE: z.string().min(1).default('Asia/Seoul'),
  BACKUP_DAILY_CRON: z.string().min(9).default('0 3 * * *'),
  BACKUP_WEEKLY_CRON: z.string().min(9).default('0 4 * * 0'),
  BACKUP_VERIFY_CRON: z.string().min(9).default('30 5 * * *'),
  BACKUP_RETENTION_CRON: z.string().min(9).default('0 6 * * *'),
  BACKUP_RETENTION_DAYS: int(1, 3650).default(30),
  UPLOADS_DIR: z.string().min(1).optional(),
  // Proof of delivery (DESIGN.md "Proof of delivery"): where the images are kept, through the
  // backups' storage targets (local: under UPLOADS_DIR; s3: the BACKUP_S3_* bucket), and for how long.
  PROOF_STORAGE: z.enum(['local', 's3']).default('local'),
  PROOF_RETENTION_DAYS: int(1, 3650).default(1095),
  SCHEDULES: z.enum(['on', 'off']).optional(),
  MAINTENANCE_CRON: z.string().min(9).default('15 4 * * *'),
  IDEMPOTENCY_KEY_TTL_HOURS: int(1, 24 * 30).default(48),
  OUTBOX_RETENTION_DAYS: int(1, 365).default(7),
  PG_BIN_DIR: z.string().min(1).optional(),

  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).optional(),
  RATE_LIMIT_GENERAL: int(1, 10_000_000).optional(),
  RATE_LIMIT_LOCATION: int(1, 10_000_000).optional(),
  RATE_LIMIT_PUBLIC: int(1, 10_000_000).optional(),
  RATE_LIMIT_LOGIN_IP_FAILURES: int(1, 1_000_000).optional(),
  RATE_LIMIT_LOGIN_ACCOUNT_FAILURES: int(1, 1_000_000).optional(),
  RATE_LIMIT_LOGIN_IP_ATTEMPTS: int(1, 10_000_000).optional(),
  LOGIN_LOCKOUT_SECONDS: int(1, 86_400).default(900),
  LOGIN_SLOWDOWN_AFTER: int(1, 1000).default(3),
  LOGIN_SLOWDOWN_STEP_MS: int(0, 10_000).default(250),

  // Webhooks (DESIGN.md "Shippers", docs/webhooks.md): the waits between attempts (the first is
  // immediate), whether private/loopback/link-local targets are allowed (development and tests
  // only), host names allowed to resolve to them anyway, the per-attempt deadline, the key that
  // encrypts signing secrets at rest (32 bytes, base64 or hex), and deliveries in flight per worker
  // (attempts mostly wait on the network, so many; one endpoint holds at most 10 of them).
  WEBHOOK_RETRY_SCHEDULE: z.string().default('5s,5m,30m,2h,5h,10h,10h'),
  WEBHOOK_ALLOW_PRIVATE: bool.optional(),
  WEBHOOK_ALLOWED_HOSTS: list.default([]),
  WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(15_000),
  WEBHOOK_SECRET_KEY: z.string().min(1).optional(),
  WEBHOOK_SECRET_KEY_PREVIOUS: z.string().min(1).optional(),
  WEBHOOK_CONCURRENCY: int(1, 2000).default(200),
  // How long the delivery log of finished deliveries is kept (the maintenance job deletes older ones).
  WEBHOOK_LOG_RETENTION_DAYS: int(1, 3650).default(30),

  // Dispatch suggestions and plans (DESIGN.md "Dispatch suggestions", docs/dispatch-suggestions.md):
  // the weight of each score term (relative; the score is their weighted mean, 0 to 100) and how
  // long a plan may be applied. Defaults and the reason for each: docs/dispatch-suggestions.md.
  DISPATCH_WEIGHT_DISTANCE: weight.default(0.5),
  DISPATCH_WEIGHT_REEFER_READINESS: weight.default(0.2),
  DISPATCH_WEIGHT_CAPACITY_FIT: weight.default(0.15),
  DISPATCH_WEIGHT_FAIRNESS: weight.default(0.15),
  DISPATCH_PLAN_TTL_SECONDS: int(30, 86_400).default(600),
});

type Env = z.infer<typeof EnvSchema>;

/** Every environment variable UVIS reads (.env.example must list them all). */
export const ENV_KEYS = Object.keys(EnvSchema.shape);

export interface RateLimitConfig {
  enabled: boolean;
  windowSeconds: number;
  /** Requests per user per window on ordinary routes. */
  general: number;
  /** Location posts per user per window: sized for a driver posting every second. */
  location: number;
  /**
   * Requests per client address per window to routes without sign-in (health,
   * readiness, sign-in, refresh, /metrics). Requests from the machine itself
   * (loopback: container health checks) are not counted.
   */
  publicPerAddress: number;
  /** Failed sign-ins per IP per lockout window. */
  loginIpFailures: number;
  /** Failed sign-ins per account per lockout window; over it the account is locked. */
  loginAccountFailures: number;
  /** Sign-in attempts of any outcome per IP per LOGIN_ATTEMPT_WINDOW_SECONDS: caps a parallel burst across accounts. */
  loginIpAttempts: number;
  lockoutSeconds: number;
  slowdownAfter: number;
  slowdownStepMs: number;
}

export const BACKUP_TARGETS = ['local', 's3'] as const;
export type BackupTarget = (typeof BACKUP_TARGETS)[number];

export interface BackupConfig {
  /** Where the local target keeps backups. */
  dir: string;
  /** The first target receives the dump; the others get copies of it. */
  targets: BackupTarget[];
  s3: { endpoint?: string; region: string; bucket?: string; prefix: string; accessKeyId?: string; secretAccessKey?: string; forcePathStyle: boolean };
  timezone: string;
  cron: { daily: string; weekly: string; verify: string; retention: string };
  retentionDays: number;
  /** Uploaded files, archived by the weekly full backup. */
  uploadsDir: string;
  /** Directory of pg_dump and pg_restore when they are not on PATH. */
  pgBinDir?: string;
}

export interface ProofConfig {
  /** Which backup storage target keeps the proofs' images: a folder (under UPLOADS_DIR) or the S3 bucket. */
  storage: BackupTarget;
  /** Days a proof (row and image) is kept; the maintenance job deletes older ones. */
  retentionDays: number;
}

export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  role: ProcessRole;
  host: string;
  port: number;
  metricsPort: number;
  metricsToken: string | undefined;
  /** Whether /docs and /api/v1/openapi.json are served. */
  apiDocs: boolean;
  /** Bounds on receiving a request, not answering it: headers, a whole request, a whole upload (which may not pause longer than requestTimeoutMs). */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; uploadTimeoutMs: number };
  trustProxy: string;
  databaseUrl: string;
  /** DATABASE_URL without PgBouncer: pg_dump, pg_restore and the backups' scratch databases. */
  databaseDirectUrl: string;
  db: { poolMin: number; poolMax: number; statementTimeoutMs: number };
  redisUrl: string;
  redisPrefix: string;
  redisCommandTimeoutMs: number;
  /** Redis Cluster seed nodes; undefined means one Redis at redisUrl. */
  redisClusterNodes: { host: string; port: number }[] | undefined;
  /** Intake durability: replicas that must hold an enqueued job before the API answers 202 (0 = off), and how long to wait for them. */
  redisWait: { replicas: number; timeoutMs: number };
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Lifetime of a browser sign-in (Bull Board, dashboard): a working day. */
  browserSessionTtlSeconds: number;
  logLevel: Env['LOG_LEVEL'];
  worker: {
    concurrency: number;
    locationsConcurrency: number;
    /** WORKER_QUEUES as given; undefined means every queue of the catalogue. */
    queues: string[] | undefined;
    locationBatchMaxPoints: number;
    locationBatchMaxWaitMs: number;
  };
  /** How long GPS points are kept at least (LOCATION_RETENTION_DAYS): whole month partitions are dropped, so at most a month longer (db/partitions.ts). */
  locationRetentionDays: number;
  /** How long reefer temperature readings are kept at least (TELEMETRY_RETENTION_DAYS), as for GPS points. */
  telemetryRetentionDays: number;
  /** Excursion evaluation (EXCURSION_OPEN_AFTER_S, EXCURSION_CLOSE_AFTER_S, TELEMETRY_GAP_S) and the DATA_GAP sweep's cron. */
  excursions: { openAfterS: number; closeAfterS: number; gapS: number; gapCron: string };
  /** The temperature record (GET /dispatches/:id/temperature-report): carrier named on it, Hangul font for the PDF. */
  reports: { carrierName: string; fontPath: string | undefined };
  /** PUBLIC_URL without a trailing slash, or '' (tracking links are then paths). */
  publicUrl: string;
  outboxPollMs: number;
  demoData: boolean;
  shutdownTimeoutMs: number;
  /** How long readiness reports 503 before the listener closes, so load balancers stop routing here first. */
  shutdownDrainDelayMs: number;
  corsOrigins: string[];
  rateLimits: RateLimitConfig;
  backup: BackupConfig;
  proofs: ProofConfig;
  /** Whether worker processes run the cron schedules of the queues they serve (backups, maintenance, the DATA_GAP sweep). */
  schedules: boolean;
  maintenance: { cron: string; idempotencyKeyTtlHours: number; outboxRetentionDays: number };
  webhooks: WebhookConfig;
  dispatch: DispatchConfig;
}

export interface DispatchConfig {
  /** Relative weights of the suggestion score's terms (DISPATCH_WEIGHT_*); they add up to more than 0. */
  weights: { distance: number; capacityFit: number; reeferReadiness: number; fairness: number };
  /** How long a dispatch plan may be applied (DISPATCH_PLAN_TTL_SECONDS). */
  planTtlSeconds: number;
}

export interface WebhookConfig {
  /** Waits after each failed attempt, in ms (WEBHOOK_RETRY_SCHEDULE); attempts = length + 1. */
  retryScheduleMs: number[];
  allowPrivate: boolean;
  /** Lower-cased host names that may resolve to non-public addresses. */
  allowedHosts: string[];
  timeoutMs: number;
  /** AES-256-GCM key of the signing secrets at rest. */
  secretKey: Buffer;
  /** The key before a rotation of WEBHOOK_SECRET_KEY: secrets not yet re-encrypted still decrypt with it (npm run webhooks:rekey). */
  previousSecretKey?: Buffer;
  concurrency: number;
  /** Days finished deliveries and their attempts are kept. */
  logRetentionDays: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Development lets the seed's Locust file (1,000 users sharing one account from one
// address, all signing in within ten seconds) run without a 429: every sign-in holds an
// account reservation while it runs, so the account limit must exceed the sign-ins in
// flight. Production is strict. Both are documented in the README.
const RATE_LIMIT_DEFAULTS = {
  development: { general: 200_000, location: 200_000, publicPerAddress: 200_000, loginIpFailures: 200, loginAccountFailures: 2000, loginIpAttempts: 100_000 },
  // publicPerAddress: a fleet of a thousand drivers behind one address refreshing every
  // 15 minutes uses about 70 a minute, and its sign-ins are capped lower by loginIpAttempts.
  production: { general: 1200, location: 180, publicPerAddress: 600, loginIpFailures: 30, loginAccountFailures: 5, loginIpAttempts: 50 },
};

/** The window of the per-address sign-in attempt limit. */
export const LOGIN_ATTEMPT_WINDOW_SECONDS = 10;

/** Parses an environment (process.env by default) into a Config, or throws ConfigError listing every problem. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const isProduction = e.NODE_ENV === 'production';

  if (isProduction) {
    if (!e.JWT_SECRET) problems.push('JWT_SECRET: required in production');
    else {
      const weakness = secretWeakness(e.JWT_SECRET);
      if (weakness) problems.push(`JWT_SECRET: ${weakness}; generate one with \`openssl rand -base64 48\``);
    }
    if (!e.METRICS_TOKEN) {
      problems.push('METRICS_TOKEN: required in production (16+ characters; Prometheus sends it as a bearer token): generate one with `openssl rand -hex 32`');
    }
    if (e.DEMO_DATA) problems.push('DEMO_DATA: demo data (with its known password) is refused in production');
    if (e.RATE_LIMITS === 'off') problems.push('RATE_LIMITS: cannot be off in production');
    if (e.WEBHOOK_ALLOW_PRIVATE) {
      problems.push('WEBHOOK_ALLOW_PRIVATE: refused in production (webhooks could reach internal services); name trusted hosts in WEBHOOK_ALLOWED_HOSTS');
    }
    if (!e.WEBHOOK_SECRET_KEY) problems.push('WEBHOOK_SECRET_KEY: required in production: generate one with `openssl rand -base64 32`');
  }
  const webhookKey = e.WEBHOOK_SECRET_KEY ? parseEncryptionKey(e.WEBHOOK_SECRET_KEY) : DEVELOPMENT_ENCRYPTION_KEY;
  if (!webhookKey) problems.push('WEBHOOK_SECRET_KEY: must be 32 bytes in base64 or hex (`openssl rand -base64 32`)');
  const previousWebhookKey = e.WEBHOOK_SECRET_KEY_PREVIOUS ? parseEncryptionKey(e.WEBHOOK_SECRET_KEY_PREVIOUS) : undefined;
  if (e.WEBHOOK_SECRET_KEY_PREVIOUS && !previousWebhookKey)
    problems.push('WEBHOOK_SECRET_KEY_PREVIOUS: must be 32 bytes in base64 or hex, like WEBHOOK_SECRET_KEY');
  const retrySchedule = parseRetrySchedule(e.WEBHOOK_RETRY_SCHEDULE);
  if (!retrySchedule)
    problems.push(`WEBHOOK_RETRY_SCHEDULE: expected waits like 5s,5m,30m,2h (1 to 20 of them; units ms, s, m, h, d): "${e.WEBHOOK_RETRY_SCHEDULE}"`);
  if (e.DISPATCH_WEIGHT_DISTANCE + e.DISPATCH_WEIGHT_REEFER_READINESS + e.DISPATCH_WEIGHT_CAPACITY_FIT + e.DISPATCH_WEIGHT_FAIRNESS <= 0) {
    problems.push('DISPATCH_WEIGHT_*: at least one score weight must be above 0');
  }
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) problems.push('HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS');
  if (e.REQUEST_TIMEOUT_MS > e.UPLOAD_TIMEOUT_MS) problems.push('REQUEST_TIMEOUT_MS: must not exceed UPLOAD_TIMEOUT_MS');
  if (e.DB_POOL_MIN > e.DB_POOL_MAX) problems.push('DB_POOL_MIN: must not exceed DB_POOL_MAX');
  const unknownTargets = e.BACKUP_TARGETS.filter((t) => !(BACKUP_TARGETS as readonly string[]).includes(t));
  if (unknownTargets.length > 0) problems.push(`BACKUP_TARGETS: unknown target(s) ${unknownTargets.join(', ')}; known: ${BACKUP_TARGETS.join(', ')}`);
  if (e.BACKUP_TARGETS.length === 0) problems.push('BACKUP_TARGETS: name at least one target');
  if (e.BACKUP_TARGETS.includes('s3')) {
    for (const key of ['BACKUP_S3_BUCKET', 'BACKUP_S3_ACCESS_KEY_ID', 'BACKUP_S3_SECRET_ACCESS_KEY'] as const) {
      if (!e[key]) problems.push(`${key}: required when BACKUP_TARGETS includes s3`);
    }
  } else if (e.PROOF_STORAGE === 's3') {
    for (const key of ['BACKUP_S3_BUCKET', 'BACKUP_S3_ACCESS_KEY_ID', 'BACKUP_S3_SECRET_ACCESS_KEY'] as const) {
      if (!e[key]) problems.push(`${key}: required when PROOF_STORAGE is s3`);
    }
  }
  for (const key of [
    'BACKUP_DAILY_CRON',
    'BACKUP_WEEKLY_CRON',
    'BACKUP_VERIFY_CRON',
    'BACKUP_RETENTION_CRON',
    'MAINTENANCE_CRON',
    'TELEMETRY_GAP_CRON',
  ] as const) {
    if (!isValidCron(e[key])) problems.push(`${key}: not a cron expression: "${e[key]}"`);
  }
  if (!isValidTimezone(e.BACKUP_TIMEZONE)) problems.push(`BACKUP_TIMEZONE: unknown time zone "${e.BACKUP_TIMEZONE}"`);
  if (problems.length > 0) throw new ConfigError(problems);

  const limits = isProduction ? RATE_LIMIT_DEFAULTS.production : RATE_LIMIT_DEFAULTS.development;
  return {
    env: e.NODE_ENV,
    isProduction,
    role: e.ROLE,
    host: e.HOST,
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    metricsToken: e.METRICS_TOKEN,
    apiDocs: (e.API_DOCS ?? (isProduction ? 'off' : 'on')) === 'on',
    http: { headersTimeoutMs: e.HEADERS_TIMEOUT_MS, requestTimeoutMs: e.REQUEST_TIMEOUT_MS, uploadTimeoutMs: e.UPLOAD_TIMEOUT_MS },
    trustProxy: e.TRUST_PROXY,
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL ?? e.DATABASE_URL,
    db: { poolMin: e.DB_POOL_MIN, poolMax: e.DB_POOL_MAX, statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS },
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    redisClusterNodes: e.REDIS_CLUSTER_NODES?.map((node) => {
      const at = node.lastIndexOf(':');
      return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
    }),
    redisWait: { replicas: e.REDIS_WAIT_REPLICAS, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS },
    jwtSecret: e.JWT_SECRET ?? DEV_JWT_SECRET,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    browserSessionTtlSeconds: e.BROWSER_SESSION_TTL_SECONDS,
    logLevel: e.LOG_LEVEL,
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      locationsConcurrency: e.LOCATIONS_CONCURRENCY,
      queues: e.WORKER_QUEUES,
      locationBatchMaxPoints: e.LOCATION_BATCH_MAX_POINTS,
      locationBatchMaxWaitMs: e.LOCATION_BATCH_MAX_WAIT_MS,
    },
    locationRetentionDays: e.LOCATION_RETENTION_DAYS,
    telemetryRetentionDays: e.TELEMETRY_RETENTION_DAYS,
    excursions: {
      openAfterS: e.EXCURSION_OPEN_AFTER_S,
      closeAfterS: e.EXCURSION_CLOSE_AFTER_S,
      gapS: e.TELEMETRY_GAP_S,
      gapCron: e.TELEMETRY_GAP_CRON,
    },
    reports: { carrierName: e.CARRIER_NAME, fontPath: e.REPORT_FONT_PATH },
    publicUrl: e.PUBLIC_URL ?? '',
    outboxPollMs: e.OUTBOX_POLL_MS,
    demoData: e.DEMO_DATA ?? e.NODE_ENV === 'development',
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
    corsOrigins: e.CORS_ORIGINS,
    rateLimits: {
      enabled: e.RATE_LIMITS === 'on',
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS ?? 60,
      general: e.RATE_LIMIT_GENERAL ?? limits.general,
      location: e.RATE_LIMIT_LOCATION ?? limits.location,
      publicPerAddress: e.RATE_LIMIT_PUBLIC ?? limits.publicPerAddress,
      loginIpFailures: e.RATE_LIMIT_LOGIN_IP_FAILURES ?? limits.loginIpFailures,
      loginAccountFailures: e.RATE_LIMIT_LOGIN_ACCOUNT_FAILURES ?? limits.loginAccountFailures,
      loginIpAttempts: e.RATE_LIMIT_LOGIN_IP_ATTEMPTS ?? limits.loginIpAttempts,
      lockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
      slowdownAfter: e.LOGIN_SLOWDOWN_AFTER,
      slowdownStepMs: e.LOGIN_SLOWDOWN_STEP_MS,
    },
    backup: {
      dir: e.BACKUP_DIR ?? projectPath('.uvis', 'backups'),
      targets: e.BACKUP_TARGETS as BackupTarget[],
      s3: {
        endpoint: e.BACKUP_S3_ENDPOINT,
        region: e.BACKUP_S3_REGION,
        bucket: e.BACKUP_S3_BUCKET,
        prefix: e.BACKUP_S3_PREFIX,
        accessKeyId: e.BACKUP_S3_ACCESS_KEY_ID,
        secretAccessKey: e.BACKUP_S3_SECRET_ACCESS_KEY,
        forcePathStyle: e.BACKUP_S3_FORCE_PATH_STYLE,
      },
      timezone: e.BACKUP_TIMEZONE,
      cron: { daily: e.BACKUP_DAILY_CRON, weekly: e.BACKUP_WEEKLY_CRON, verify: e.BACKUP_VERIFY_CRON, retention: e.BACKUP_RETENTION_CRON },
      retentionDays: e.BACKUP_RETENTION_DAYS,
      uploadsDir: e.UPLOADS_DIR ?? projectPath('.uvis', 'uploads'),
      pgBinDir: e.PG_BIN_DIR,
    },
    proofs: { storage: e.PROOF_STORAGE, retentionDays: e.PROOF_RETENTION_DAYS },
    // Tests start workers by the dozen: they opt in to schedules explicitly.
    schedules: (e.SCHEDULES ?? (e.NODE_ENV === 'test' ? 'off' : 'on')) === 'on',
    maintenance: { cron: e.MAINTENANCE_CRON, idempotencyKeyTtlHours: e.IDEMPOTENCY_KEY_TTL_HOURS, outboxRetentionDays: e.OUTBOX_RETENTION_DAYS },
    webhooks: {
      retryScheduleMs: retrySchedule!,
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE ?? !isProduction,
      allowedHosts: e.WEBHOOK_ALLOWED_HOSTS.map((h) => h.toLowerCase()),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      secretKey: webhookKey!,
      ...(previousWebhookKey ? { previousSecretKey: previousWebhookKey } : {}),
      concurrency: e.WEBHOOK_CONCURRENCY,
      logRetentionDays: e.WEBHOOK_LOG_RETENTION_DAYS,
    },
    dispatch: {
      weights: {
        distance: e.DISPATCH_WEIGHT_DISTANCE,
        capacityFit: e.DISPATCH_WEIGHT_CAPACITY_FIT,
        reeferReadiness: e.DISPATCH_WEIGHT_REEFER_READINESS,
        fairness: e.DISPATCH_WEIGHT_FAIRNESS,
      },
      planTtlSeconds: e.DISPATCH_PLAN_TTL_SECONDS,
    },
  };
}

/** Parses "5s,5m,30m,2h" into milliseconds; undefined for a malformed list. */
export function parseRetrySchedule(text: string): number[] | undefined {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = text.split(',').map((p) => p.trim());
  const out: number[] = [];
  for (const part of parts) {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(part);
    if (!m) return undefined;
    out.push(Number(m[1]) * units[m[2]!]!);
  }
  return out.length > 0 && out.length <= 20 ? out : undefined;
}

/**
 * Why a production signing secret is too weak to use, or undefined. Length alone lets
 * through 32 × "a", "1234567890..." and a known default padded with spaces, so the
 * secret is judged after trimming by its distinct characters, whether it repeats a
 * shorter pattern or runs along the keyboard or alphabet, and the entropy its own
 * character frequencies suggest. Random output (openssl rand -base64 48 or -hex 32)
 * passes all of them by a wide margin.
 */
export function secretWeakness(secret: string): string | undefined {
  const s = secret.trim();
  if (s.length < 32) return 'must be at least 32 characters (not counting surrounding spaces) in production';
  const lower = s.toLowerCase();
  for (const known of KNOWN_WEAK_SECRETS) {
    // Short ones ("secret") only as the whole value: padding a long one does not hide it.
    if (lower === known || (known.length >= 8 && lower.includes(known))) return 'contains a well-known default';
  }
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  if (counts.size < 8) return `too few distinct characters (${counts.size}; random secrets of this length have far more)`;
  for (let period = 1; period <= s.length / 2; period++) {
    let same = 0;
    for (let i = period; i < s.length; i++) if (s[i] === s[i - period]) same++;
    if (same / (s.length - period) >= 0.8) return `repeats a ${period}-character pattern`;
  }
  let steps = 0;
  for (let i = 1; i < s.length; i++) if (Math.abs(s.charCodeAt(i) - s.charCodeAt(i - 1)) <= 1) steps++;
  if (steps / (s.length - 1) >= 0.6) return 'mostly runs of consecutive or repeated characters';
  let bitsPerChar = 0;
  for (const n of counts.values()) bitsPerChar -= (n / s.length) * Math.log2(n / s.length);
  const bits = bitsPerChar * s.length;
  if (bits < 80) return `too little entropy (about ${Math.round(bits)} bits by character frequency; 80 needed)`;
  return undefined;
}

function isValidCron(expression: string): boolean {
  return cron.validate(expression);
}

function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
