/**
 * Wiring: builds every long-lived object of a process from its Config, starts what
 * its role runs (API, workers, or both), and registers the shutdown steps in the
 * order the design asks for. main.ts and the tests both start UVIS through here.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { buildApp } from '../api/app.js';
import type { AppDeps } from '../api/deps.js';
import { createDb } from '../db/knex.js';
import { OutboxRelay } from '../jobs/outbox-relay.js';
import { JobProducer } from '../jobs/producer.js';
import { closeQueues, createQueues } from '../jobs/queues.js';
import { startWorkers, type RunningWorkers } from '../workers/start-workers.js';
import { startMetricsServer } from '../workers/metrics-server.js';
import { closeLiveHub } from './live-subscriber.js';
import { backupSchedules } from '../backups/schedule.js';
import { startSchedules, type SchedulePlan } from '../workers/schedules.js';
import { Cache } from './cache.js';
import type { Config, ProcessRole } from './config.js';
import { LivePublisher } from './live-events.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { AuthAnnouncer, PrincipalCache } from './principal-cache.js';
import { closeRedis, createRedis, waitForRedis } from './redis.js';
import { registerBackupGauges, registerDatabaseGauges, registerQueueGauges } from './scrape-metrics.js';
import { Shutdown } from './shutdown.js';
import { TokenService } from './tokens.js';

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
  const redis = createRedis(config.redisUrl, 'client', { commandTimeoutMs: config.redisCommandTimeoutMs, name: `uvis-${options.role}` });
  const queues = createQueues(redis, config.queuePrefix);
  const relay = new OutboxRelay(db, queues, metrics, log.child({ component: 'outbox-relay' }), {
    pollMs: config.outboxPollMs,
    addTimeoutMs: config.redisCommandTimeoutMs,
  });
  const principals = new PrincipalCache(db);
  registerQueueGauges(metrics, queues, config.redisCommandTimeoutMs);
  registerDatabaseGauges(metrics, db);
  registerBackupGauges(metrics, db);
  return {
    config,
    log,
    metrics,
    db,
    redis,
    queues,
    producer: new JobProducer(queues, redis),
    relay,
    cache: new Cache(redis, config.redisPrefix, log),
    live: new LivePublisher(redis, config.redisPrefix, log),
    tokens: new TokenService(config.jwtSecret, config.accessTokenTtlSeconds),
    principals,
    auth: new AuthAnnouncer(redis, `${config.redisPrefix}:auth`, principals, log),
    lifecycle: { draining: false },
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
  const deps = createDeps(config, options);
  const { log, db, redis, queues, relay } = deps;
  const shutdown = new Shutdown(log, config.shutdownTimeoutMs);
  const running: RunningUvis = { deps, shutdown };
  const connectionsToClose = [redis];
  const servesApi = options.role !== 'worker';
  const runsWorkers = options.role !== 'api';

  if (!(await waitForRedis(redis, 3000))) log.warn('Redis does not answer yet; queue-bound requests get 503 until it does');

  if (servesApi) {
    const subscriber = createRedis(config.redisUrl, 'worker', { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'uvis-auth-sub' });
    connectionsToClose.push(subscriber);
    await deps.auth.start(subscriber);
    running.server = createServer(buildApp(deps));
    // Longer than a typical load balancer's idle timeout, so the balancer closes first and never reuses a dead socket.
    running.server.keepAliveTimeout = 65_000;
    running.server.headersTimeout = 66_000;
    running.port = await listen(running.server, config.port, config.host);
    log.info({ port: running.port }, 'api listening');
  }
  if (runsWorkers) {
    running.workers = startWorkers(deps, {
      queues: config.worker.queues,
      prefix: config.queuePrefix,
      connection: () => {
        const connection = createRedis(config.redisUrl, 'worker', { commandTimeoutMs: config.redisCommandTimeoutMs, name: 'uvis-worker' });
        connectionsToClose.push(connection);
        return connection;
      },
    });
    if (config.schedules) {
      const plans: SchedulePlan[] = [];
      if (config.worker.queues.includes('backups')) plans.push(...backupSchedules(config.backup, queues.backups));
      if (config.worker.queues.includes('maintenance')) {
        plans.push({ name: 'maintenance', cron: config.maintenance.cron, queue: queues.maintenance, jobName: 'maintenance.cleanup', data: {} });
      }
      const schedules = startSchedules(plans, config.backup.timezone, log.child({ component: 'schedules' }));
      shutdown.add('schedules', () => schedules.stop());
    }
    if (options.role === 'worker') {
      const metricsServer = await startMetricsServer(deps, config.metricsPort, config.host);
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
    .add('live streams', () => closeLiveHub(deps))
    .add('http server', () => (running.server ? closeServer(running.server) : undefined))
    .add('workers', () => running.workers?.close())
    .add('outbox relay', () => relay.stop())
    .add('queues', () => closeQueues(queues))
    .add('redis', async () => {
      await Promise.allSettled(connectionsToClose.map(closeRedis));
    })
    .add('database pool', () => db.destroy())
    .add('logger flush', () => new Promise<void>((resolve) => log.flush(() => resolve())));
  return running;
}
