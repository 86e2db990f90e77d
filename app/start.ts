/**
 * The composition root: builds every long-lived object of a process from its Config,
 * starts what its role runs (API, workers, or both), and registers the shutdown steps
 * in the order the design asks for. main.ts and the tests both start UVIS through here;
 * it is the only module that knows every layer.
 */
import { createServer, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { buildApp } from '../api/app.js';
import type { AppDeps } from '../api/deps.js';
import { startMetricsServer } from '../api/metrics-server.js';
import { mountAdmin } from '../dashboard/admin-routes.js';
import { mountDashboard } from '../dashboard/mount.js';
import { createProofStorage } from '../backups/proof-storage.js';
import { createDb } from '../db/knex.js';
import { loadPrincipal, type Principal } from '../db/sessions.js';
import { sweepBackupLeftovers } from '../jobs/backups.js';
import { queueSchedules, workerQueues } from '../jobs/index.js';
import { legacyQueueJobs } from '../jobs/legacy-queues.js';
import { OutboxRelay } from '../jobs/outbox-relay.js';
import { JobProducer } from '../jobs/producer.js';
import { queueCounts } from '../jobs/queue-counts.js';
import { closeQueues, createQueues } from '../jobs/queues.js';
import { startWorkers, type RunningWorkers } from '../jobs/run-workers.js';
import { startSchedules } from '../jobs/schedules.js';
import { sweepIncomingUploads } from '../api/proof-upload.js';
import { Cache } from '../lib/cache.js';
import { lazy } from '../lib/lazy.js';
import { ConfigError, type Config, type ProcessRole } from '../lib/config.js';
import { LivePublisher, liveChannel } from '../lib/live-events.js';
import { LiveHub } from '../lib/live-subscriber.js';
import { createLogger } from '../lib/logger.js';
import { createMetrics } from '../lib/metrics.js';
import { AuthAnnouncer, PrincipalCache } from '../lib/principal-cache.js';
import { closeRedis, createRedis, isClusterNodeAlone, waitForRedis } from '../lib/redis.js';
import { Shutdown } from '../lib/shutdown.js';
import { TokenService } from '../lib/tokens.js';
import { registerBackupGauges, registerDatabaseGauges, registerExcursionGauges, registerQueueGauges, registerWebhookGauges } from './scrape-metrics.js';

export interface StartOptions {
  role: ProcessRole;
  /** Where log lines go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
}

export interface RunningUvis {
  deps: AppDeps;
  /** The API's HTTP server when the role serves the API. */
  server?: Server;
  /** The port the API listens on (useful when PORT=0). */
  port?: number;
  workers?: RunningWorkers;
  metricsPort?: number;
  shutdown: Shutdown;
}

export function createDeps(config: Config, options: StartOptions): AppDeps {
  const log = createLogger({ level: config.logLevel, destination: options.logDestination, base: { role: options.role } });
  const metrics = createMetrics(options.role);
  const db = createDb({ url: config.databaseUrl, ...config.db, applicationName: `uvis-${options.role}`, log });
  const redis = createRedis(config, 'client', { commandTimeoutMs: config.redisCommandTimeoutMs, name: `uvis-${options.role}` });
  const queues = createQueues(redis, config.redisPrefix);
  const relay = new OutboxRelay(db, queues, metrics, log.child({ component: 'outbox-relay' }), {
    pollMs: config.outboxPollMs,
    addTimeoutMs: config.redisCommandTimeoutMs,
    replicaWait: { connection: redis, ...config.redisWait },
  });
  const principals = new PrincipalCache<Principal>((sessionId) => loadPrincipal(db, sessionId));
  const lifecycle = { draining: false };
  registerQueueGauges(metrics, queues, config.redisCommandTimeoutMs);
  registerDatabaseGauges(metrics, db);
  registerBackupGauges(metrics, db);
  registerExcursionGauges(metrics, db);
  registerWebhookGauges(metrics, db);
  return {
    config,
    log,
    metrics,
    db,
    redis,
    queues,
    producer: new JobProducer(queues, redis, config.redisWait),
    relay,
    cache: new Cache(redis, config.redisPrefix, log),
    live: new LivePublisher(redis, config.redisPrefix, log),
    tokens: new TokenService(config.jwtSecret, config.accessTokenTtlSeconds),
    principals,
    auth: new AuthAnnouncer(redis, `${config.redisPrefix}:auth`, principals, log),
    // Opens nothing until the first dashboard stream: a process nobody watches holds no subscription.
    liveHub: new LiveHub({
      channel: liveChannel(config.redisPrefix),
      connect: () => createRedis(config, 'worker', { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'uvis-live-sub' }),
      log: log.child({ component: 'live-subscriber' }),
      readQueueCounts: async () => ({ queues: await queueCounts(queues, config.redisCommandTimeoutMs) }),
      isDraining: () => lifecycle.draining,
      subscribeTimeoutMs: config.redisCommandTimeoutMs,
    }),
    proofStorage: lazy(() => createProofStorage(config)),
    lifecycle,
  };
}

/**
 * Bounds on receiving a request (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS): a client that
 * dribbles its headers or body gets 408 and a closed socket within seconds instead of
 * holding it for Node's default 300 s. Sending the response is not bounded by them, so
 * the dashboard's event stream stays open. Node checks the bounds every
 * connectionsCheckingInterval, so that runs at a quarter of the shorter one. The API's server
 * accepts proof uploads: Node's bound is then UPLOAD_TIMEOUT_MS, and the API holds every other
 * request to REQUEST_TIMEOUT_MS itself (api/middleware/receive-deadline.ts).
 */
export function httpServerOptions(config: Config, { uploads = false } = {}): ServerOptions {
  const { headersTimeoutMs, requestTimeoutMs, uploadTimeoutMs } = config.http;
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout: uploads ? uploadTimeoutMs : requestTimeoutMs,
    connectionsCheckingInterval: Math.max(250, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 4)),
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Closes the listener and waits for in-flight requests. Keep-alive connections are
 * closed as soon as they are idle (responses carry Connection: close while draining),
 * so a busy client's pool cannot hold the server open.
 */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.close((err) => {
      clearInterval(sweep);
      if (err) reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

export async function startUvis(config: Config, options: StartOptions): Promise<RunningUvis> {
  // Checked before anything opens: a bad WORKER_QUEUES leaves no server or connection behind.
  const served = options.role === 'api' ? [] : workerQueues(config.worker.queues);
  const deps = createDeps(config, options);
  const { log, db, redis, queues, relay } = deps;
  const shutdown = new Shutdown(log, config.shutdownTimeoutMs);
  const running: RunningUvis = { deps, shutdown };
  const connectionsToClose = [redis];
  const servesApi = options.role !== 'worker';
  const runsWorkers = options.role !== 'api';

  if (!(await waitForRedis(redis, 3000))) log.warn('Redis does not answer yet; queue-bound requests get 503 until it does');
  else if (await isClusterNodeAlone(redis)) {
    await Promise.allSettled([closeRedis(redis), db.destroy()]);
    throw new ConfigError([
      'REDIS_URL points at a node of a Redis Cluster: set REDIS_CLUSTER_NODES=host:port,... (keys of other nodes would fail, and queues with them)',
    ]);
  }

  if (servesApi) {
    const subscriber = createRedis(config, 'worker', { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'uvis-auth-sub' });
    connectionsToClose.push(subscriber);
    await deps.auth.start(subscriber);
    running.server = createServer(httpServerOptions(config, { uploads: true }), buildApp(deps, [mountAdmin, mountDashboard]));
    // Longer than a typical load balancer's idle timeout, so the balancer closes first and never reuses a dead socket.
    // (headersTimeout counts from a request's first byte, not from the idle keep-alive time before it.)
    running.server.keepAliveTimeout = 65_000;
    running.port = await listen(running.server, config.port, config.host);
    log.info({ port: running.port }, 'api listening');
    // Uploads a crashed process left half-received (an hour is far beyond REQUEST_TIMEOUT_MS).
    sweepIncomingUploads(config.backup.uploadsDir, 3_600_000).then(
      (removed) => removed > 0 && log.info({ removed }, 'removed interrupted proof uploads'),
      (err: unknown) => log.warn({ err }, 'could not sweep interrupted proof uploads'),
    );
  }
  let sweeping: Promise<void> | undefined;
  if (runsWorkers) {
    running.workers = startWorkers(deps, {
      queues: served,
      redisPrefix: config.redisPrefix,
      connection: () => {
        const connection = createRedis(config, 'worker', { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'uvis-worker' });
        connectionsToClose.push(connection);
        return connection;
      },
    });
    legacyQueueJobs(redis, config.redisPrefix, served).then(
      (left) =>
        Object.keys(left).length > 0 &&
        log.error(
          { queues: left },
          'jobs wait under the queue layout of an earlier release ({prefix}:queue), which this release does not read: drain them with the earlier release, then switch (docs/operations.md)',
        ),
      (err: unknown) => log.warn({ err }, 'could not look for jobs under the earlier queue layout'),
    );
    if (served.includes('backups')) {
      // Leftovers of backup runs that died with an earlier process, in the background;
      // shutdown waits for it before closing what it uses.
      sweeping = sweepBackupLeftovers(deps).then(
        () => undefined,
        (err: unknown) => log.warn({ err }, 'backup leftovers sweep failed'),
      );
    }
    if (config.schedules) {
      const plans = queueSchedules(config, served).map((spec) => ({ ...spec, queue: queues[spec.queue] }));
      const schedules = startSchedules(plans, config.backup.timezone, log.child({ component: 'schedules' }));
      shutdown.add('schedules', () => schedules.stop());
    }
    if (options.role === 'worker') {
      const metricsServer = await startMetricsServer(deps, config.metricsPort, config.host, httpServerOptions(config));
      running.metricsPort = metricsServer.port;
      shutdown.add('metrics server', () => metricsServer.close());
    }
  }
  relay.start();

  // The order matters: stop taking work, finish work in flight, then close what it used.
  shutdown
    .add('readiness off', () => {
      deps.lifecycle.draining = true;
    })
    .add('drain delay', () => (servesApi ? new Promise<void>((resolve) => setTimeout(resolve, config.shutdownDrainDelayMs)) : undefined))
    // Live dashboard streams never end by themselves: end them so the server can close.
    .add('live streams', () => deps.liveHub.closeAll('draining'))
    .add('http server', () => (running.server ? closeServer(running.server) : undefined))
    .add('workers', () => running.workers?.close())
    .add('outbox relay', () => relay.stop())
    .add('backup leftovers sweep', () => sweeping)
    .add('queues', () => closeQueues(queues))
    .add('redis', async () => {
      await Promise.allSettled(connectionsToClose.map(closeRedis));
    })
    .add('database pool', () => db.destroy())
    .add('logger flush', () => new Promise<void>((resolve) => log.flush(() => resolve())));
  return running;
}
