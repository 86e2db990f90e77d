/**
 * The one entry point: `node main.js <api|worker|all|migrate|seed>` (ROLE when no
 * argument). In development it also starts missing local services, creates the
 * database, migrates and loads demo data, so `npm start` is all a newcomer needs.
 */
import { ensureDatabase } from './db/ensure-database.js';
import { loadDemoData } from './db/demo-data.js';
import { createDb, type Db } from './db/knex.js';
import { migrateLatest, pendingMigrations } from './db/migrate.js';
import { ConfigError, loadConfig, ROLES, type Config, type ProcessRole } from './lib/config.js';
import { MissingServiceError, ensurePostgres, ensureRedis } from './lib/local-services.js';
import { startUvis } from './app/start.js';
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
  if (config.isProduction) {
    const pending = await withDb(config, pendingMigrations);
    if (pending.length) fail(`pending migrations (${pending.join(', ')}): run the migrate command first`);
  } else {
    await prepareDevelopment(config);
  }
  const running = await startUvis(config, { role: command as ProcessRole });
  let stopping = false;
  const stop = (signal: string) => {
    // A signal often arrives twice: Ctrl-C or `kill -- -pgid` reaches the whole process
    // group, and tsx or npm relay it as well. Without a listener the second one would kill
    // the process mid-drain, so it stays registered and later signals are only noted.
    if (stopping) return running.deps.log.info({ signal }, 'already shutting down');
    stopping = true;
    void running.shutdown.run(signal).then((errors) => process.exit(errors.length ? 1 : 0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
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
