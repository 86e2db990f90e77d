/**
 * PgBouncer (Debian's) in transaction mode in front of a PostgreSQL server, on a free port: the
 * sample configuration deploy/pgbouncer/pgbouncer.ini (pool mode, timeouts, no ignored startup
 * parameters: a client sending `options` or `statement_timeout` is refused), with what differs on a
 * test machine replaced: every database of the server is reachable through it (`* =`), so the test
 * files' own databases route through it too; trust authentication; pools sized for a shared server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { portAnswers } from '../../lib/local-services.js';
import { projectPath } from '../../lib/paths.js';
import { waitFor } from './api-client.js';
import { freePort } from './private-redis.js';

export interface PgBouncerOptions {
  /** The PostgreSQL server behind it (host, port and user of this URL; its database is ignored). */
  serverUrl: string;
  /** Server connections per database and user (PgBouncer's default_pool_size). */
  poolSize?: number;
  /**
   * Server connections in all, for the URL's user (max_user_connections): stays within the shared
   * server's max_connections. PgBouncer does not close one pool's idle connections for another
   * pool's clients, so they go after 2 s idle: the test files each have a database (a pool) of their own.
   */
  maxServerConnections?: number;
  port?: number;
}

/** The [pgbouncer] section of the sample configuration, key by key. */
export function sampleSettings(): Record<string, string> {
  const settings: Record<string, string> = {};
  let section = '';
  for (const raw of readFileSync(projectPath('deploy', 'pgbouncer', 'pgbouncer.ini'), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    else if (section === 'pgbouncer') {
      const [key, ...value] = line.split('=');
      settings[key!.trim()] = value.join('=').trim();
    }
  }
  return settings;
}

export interface PgBouncer {
  port: number;
  /** A URL to database `name` through PgBouncer, as the URL's user. */
  urlFor(name: string): string;
  /** Runs a command on PgBouncer's admin console (SHOW POOLS, RECONNECT db, ...). */
  admin(command: string): Promise<pg.QueryResult>;
  /** Everything PgBouncer logged so far (its stderr). */
  log(): string;
  stop(): Promise<void>;
}

export async function startPgBouncer({ serverUrl, poolSize = 20, maxServerConnections = 50, port }: PgBouncerOptions): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const listenPort = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'uvis-pgbouncer-'));
  // PgBouncer refuses to run as root; as root it is started with -u postgres, which must read these.
  chmodSync(dir, 0o755);
  const password = decodeURIComponent(server.password);
  writeFileSync(join(dir, 'users.txt'), `"${user}" "${password}"\n`, { mode: 0o644 });
  const auth = password ? ` password=${password}` : '';
  const settings = {
    ...sampleSettings(),
    listen_addr: '127.0.0.1',
    listen_port: String(listenPort),
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: join(dir, 'users.txt'),
    admin_users: user,
    stats_users: user,
    default_pool_size: String(poolSize),
    reserve_pool_size: '0',
    max_db_connections: '0',
    max_user_connections: String(maxServerConnections),
    server_idle_timeout: '2',
    autodb_idle_timeout: '30',
    logfile: '',
    pidfile: '',
  };
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]\n* = host=${server.hostname} port=${server.port || 5432}${auth}\n\n[pgbouncer]\n${Object.entries(settings)
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n')}\n`,
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  // Debian installs it in /usr/sbin, which a non-root PATH leaves out.
  const binary = existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer';
  const child: ChildProcess = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-200_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const missing = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`cannot start pgbouncer (apt-get install pgbouncer): ${err.message}`))),
  );
  try {
    await Promise.race([
      waitFor(() => portAnswers('127.0.0.1', listenPort, 200), { timeoutMs: 10_000, what: `pgbouncer on ${listenPort}` }),
      missing,
      exited.then(() => {
        throw new Error(`pgbouncer exited: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const urlFor = (name: string) => {
    const u = new URL(serverUrl);
    u.hostname = '127.0.0.1';
    u.port = String(listenPort);
    u.pathname = `/${name}`;
    return u.toString();
  };
  return {
    port: listenPort,
    urlFor,
    async admin(command) {
      // The admin console speaks the simple protocol only.
      const client = new pg.Client({ connectionString: urlFor('pgbouncer') });
      await client.connect();
      try {
        return await client.query(command);
      } finally {
        await client.end();
      }
    },
    log: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // immediate shutdown
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
