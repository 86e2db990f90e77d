/**
 * The one entry point: `node main.js <api|worker|all|migrate|seed>` (ROLE when no
 * argument). In development it also starts missing local services, creates the
 * database, migrates and loads demo data, so `npm start` is all a newcomer needs.
 * `all` runs this entry twice more, as an `api` and a `worker` child process
 * (app/all-as-two-processes.ts); the preparation is done once, here, before that.
 */
import { fileURLToPath } from 'node:url';
import { ensureDatabase } from './db/ensure-database.js';
import { loadDemoData } from './db/demo-data.js';
import { createDb, type Db } from './db/knex.js';
import { migrateLatest, pendingMigrations } from './db/migrate.js';
import { ConfigError, loadConfig, ROLES, type Config, type ProcessRole } from './lib/config.js';
import { createLogger } from './lib/logger.js';
import { MissingServiceError, ensurePostgres, ensureRedis } from './lib/local-services.js';
import { SUPERVISED_ENV, runAllAsTwoProcesses } from './app/all-as-two-processes.js';
import type { RunningUvis } from './app/start.js';
import { workerQueues } from './jobs/index.js';

const COMMANDS = [...ROLES, 'migrate', 'seed'] as const;
type Command = (typeof COMMANDS)[number];

function fail(message: string): never {
  process.stderr.write(`uvis: ${message}\n`);
  process.exit(1);
}

async function withDb<T>(config: Config, work: (db: Db) => Promise<T>): Promise<T> {
  const db = createDb({ url: config.databaseDirectUrl, ...config.db, applicationName: 'uvis-cli' });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

async function prepareDevelopment(config: Config): Promise<void> {
  await ensurePostgres(config.databaseDirectUrl);
  // A cluster is the operator's own; only a single local Redis is started for a newcomer.
  if (!config.redisClusterNodes) await ensureRedis(config.redisUrl);
  await ensureDatabase(config.databaseDirectUrl);
  await withDb(config, async (db) => {
    await migrateLatest(db);
    if (config.demoData) await loadDemoData(db);
  });
}

/** In production refuses pending migrations; in development prepares the machine. */
async function prepareToServe(config: Config): Promise<void> {
  if (!config.isProduction) return prepareDevelopment(config);
  const pending = await withDb(config, pendingMigrations);
  if (pending.length) fail(`pending migrations (${pending.join(', ')}): run the migrate command first`);
}

async function run(command: Command, config: Config): Promise<void> {
  if (command === 'migrate') {
    if (!config.isProduction) await ensureDatabase(config.databaseDirectUrl);
    const applied = await withDb(config, migrateLatest);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    return;
  }
  if (command === 'seed') {
    if (!config.demoData) fail('demo data is disabled (DEMO_DATA=false, or NODE_ENV=production where it is refused)');
    const { inserted } = await withDb(config, async (db) => {
      await migrateLatest(db);
      return loadDemoData(db);
    });
    process.stdout.write(`demo data loaded (${inserted} new rows)\n`);
    return;
  }
  // A child of `all` finds the machine ready: its parent has checked or prepared it.
  const supervised = process.env[SUPERVISED_ENV] === '1';
  if (!supervised) await prepareToServe(config);
  if (command === 'all') return runAll(config);
  // Loaded here, not at the top: the parent of `all` needs none of the application.
  const { startUvis } = await import('./app/start.js');
  // Signals are taken before UVIS starts, not after: the parent of `all` may stop a child that is
  // still starting, and the default action would kill it with workers already taking jobs. The
  // shutdown steps exist once startUvis returns; a stop asked for before then runs at that moment.
  const state: { running?: RunningUvis; stopReason?: string } = {};
  const shutDown = (uvis: RunningUvis, reason: string) => void uvis.shutdown.run(reason).then((errors) => process.exit(errors.length ? 1 : 0));
  const stop = onStopSignals(
    (reason) => state.running?.deps.log.info({ signal: reason }, 'already shutting down'),
    (reason) => {
      state.stopReason = reason;
      if (state.running) shutDown(state.running, reason);
    },
  );
  // The parent of `all` is gone (killed, crashed): drain and stop rather than run on unsupervised.
  if (supervised) process.once('disconnect', () => stop('parent exited'));
  state.running = await startUvis(config, { role: command as ProcessRole });
  if (state.stopReason) shutDown(state.running, state.stopReason);
}

/**
 * Calls `stop` once, on the first SIGTERM or SIGINT. A signal often arrives twice: Ctrl-C
 * or `kill -- -pgid` reaches the whole process group, and tsx, npm or the parent of `all`
 * relay it as well. Without a listener the second one would kill the process mid-drain, so
 * it stays registered and later signals are only noted.
 */
function onStopSignals(alreadyStopping: (reason: string) => void, stop: (reason: string) => void): (reason: string) => void {
  let stopping = false;
  const once = (reason: string) => {
    if (stopping) return alreadyStopping(reason);
    stopping = true;
    stop(reason);
  };
  process.on('SIGTERM', () => once('SIGTERM'));
  process.on('SIGINT', () => once('SIGINT'));
  return once;
}

/** `all`: the API and the workers as two child processes, one output stream, stopped together. */
function runAll(config: Config): void {
  // process.stdout writes to a file, pipe or terminal synchronously on Linux, in one call per batch
  // of whole lines: the parent's own lines and the children's cannot mix inside a line.
  const stdout = (text: string) => process.stdout.write(text);
  const log = createLogger({ level: config.logLevel, destination: { write: stdout }, base: { role: 'all' } });
  const processes = runAllAsTwoProcesses({
    entry: fileURLToPath(import.meta.url),
    log,
    stdout,
    stderr: (text) => process.stderr.write(text),
    stopTimeoutMs: config.shutdownTimeoutMs + 10_000,
  });
  onStopSignals((reason) => log.info({ signal: reason }, 'already shutting down'), processes.stop);
  void processes.exited.then((code) => process.exit(code));
}

let config: Config;
try {
  config = loadConfig();
  workerQueues(config.worker.queues);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
const command = (process.argv[2] ?? config.role) as Command;
if (!COMMANDS.includes(command)) fail(`unknown command "${command}"; use one of ${COMMANDS.join(', ')}`);
run(command, config).catch((err: unknown) => {
  if (err instanceof MissingServiceError || err instanceof ConfigError) fail(err.message);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
});
