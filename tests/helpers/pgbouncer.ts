/**
 * PgBouncer (Debian's) in transaction mode in front of a PostgreSQL server, on a free port, with a
 * generated configuration: every database of that server is reachable through it (`* =`), so the
 * test files' own databases route through it too. No startup parameter is ignored: a client that
 * sends one (`options`, `statement_timeout`) is refused, as a production PgBouncer would refuse it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { portAnswers } from '../../lib/local-services.js';
import { waitFor } from './api-client.js';
import { freePort } from './private-redis.js';

export interface PgBouncerOptions {
  /** The PostgreSQL server behind it (host, port and user of this URL; its database is ignored). */
  serverUrl: string;
  /** Server connections per database and user (PgBouncer's default_pool_size). */
  poolSize?: number;
  /** Server connections in all, for the URL's user (max_user_connections): stays within max_connections. */
  maxServerConnections?: number;
  port?: number;
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

export async function startPgBouncer({ serverUrl, poolSize = 20, maxServerConnections = 40, port }: PgBouncerOptions): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const listenPort = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'uvis-pgbouncer-'));
  // PgBouncer refuses to run as root; as root it is started with -u postgres, which must read these.
  chmodSync(dir, 0o755);
  const password = decodeURIComponent(server.password);
  writeFileSync(join(dir, 'users.txt'), `"${user}" "${password}"\n`, { mode: 0o644 });
  const auth = password ? ` password=${password}` : '';
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]
* = host=${server.hostname} port=${server.port || 5432}${auth}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${listenPort}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
admin_users = ${user}
pool_mode = transaction
default_pool_size = ${poolSize}
max_user_connections = ${maxServerConnections}
max_client_conn = 2000
; The test files drop their databases; idle server connections to them go soon.
server_idle_timeout = 10
autodb_idle_timeout = 30
log_connections = 0
log_disconnections = 0
`,
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-200_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitFor(() => portAnswers('127.0.0.1', listenPort, 200), { timeoutMs: 10_000, what: `pgbouncer on ${listenPort}` }),
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
