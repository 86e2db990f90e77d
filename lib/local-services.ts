/**
 * Development and test convenience: make sure PostgreSQL and Redis answer on the
 * configured localhost ports. Where one does not, start a private one from the
 * installed binaries under .uvis/, or say in one line what to install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { projectPath } from './paths.js';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export class MissingServiceError extends Error {}

/** Resolves true when something accepts TCP connections on host:port. */
export function portAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host.replace(/^\[|\]$/g, ''), () => done(true));
  });
}

async function waitForPort(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portAnswers(host, port, 300)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function findBinary(name: string): string | undefined {
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  // Debian keeps the server tools out of PATH, under /usr/lib/postgresql/<version>/bin.
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin', name)).find((path) => existsSync(path));
}

/** PostgreSQL refuses to run as root; when we are root, run its tools as the postgres user. */
function asPostgresUser(binary: string, args: string[], dataDir: string): void {
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dataDir, uid, gid);
    // The postgres user must be able to reach its data directory through ours.
    chmodSync(dirname(dataDir), 0o755);
    run('runuser', ['-u', 'postgres', '--', binary, ...args]);
  } else {
    run(binary, args);
  }
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new MissingServiceError(`${command} ${args.join(' ')} failed: ${(result.stderr || result.stdout || '').trim().split('\n').slice(-3).join(' | ')}`);
  }
}

export async function ensurePostgres(databaseUrl: string, dataRoot = projectPath('.uvis')): Promise<'running' | 'started'> {
  const url = new URL(databaseUrl);
  const port = Number(url.port || 5432);
  if (await portAnswers(url.hostname, port)) return 'running';
  if (!LOCAL_HOSTS.has(url.hostname)) throw new MissingServiceError(`PostgreSQL at ${url.hostname}:${port} does not answer`);
  const initdb = findBinary('initdb');
  const pgCtl = findBinary('pg_ctl');
  if (!initdb || !pgCtl) {
    throw new MissingServiceError(
      `PostgreSQL does not answer on ${url.hostname}:${port} and initdb/pg_ctl are not installed: install PostgreSQL 15+ (apt-get install postgresql) or set DATABASE_URL`,
    );
  }
  const dataDir = join(dataRoot, `postgres-${port}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    asPostgresUser(initdb, ['-D', dataDir, '-U', url.username || 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'], dataDir);
  }
  asPostgresUser(
    pgCtl,
    ['-D', dataDir, '-l', join(dataDir, 'server.log'), '-w', '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dataDir}`, 'start'],
    dataDir,
  );
  if (!(await waitForPort(url.hostname, port, 15_000))) throw new MissingServiceError(`started PostgreSQL in ${dataDir} but it does not answer`);
  return 'started';
}

/** Stops a PostgreSQL started by ensurePostgres (fast shutdown: sessions are cut, data is safe). */
export function stopPostgres(databaseUrl: string, dataRoot = projectPath('.uvis')): void {
  const port = Number(new URL(databaseUrl).port || 5432);
  const dataDir = join(dataRoot, `postgres-${port}`);
  const pgCtl = findBinary('pg_ctl');
  if (!pgCtl) throw new MissingServiceError('pg_ctl is not installed');
  asPostgresUser(pgCtl, ['-D', dataDir, '-w', '-m', 'fast', 'stop'], dataDir);
}

export async function ensureRedis(redisUrl: string, dataRoot = projectPath('.uvis')): Promise<'running' | 'started'> {
  const url = new URL(redisUrl);
  const port = Number(url.port || 6379);
  if (await portAnswers(url.hostname, port)) return 'running';
  if (!LOCAL_HOSTS.has(url.hostname)) throw new MissingServiceError(`Redis at ${url.hostname}:${port} does not answer`);
  const redisServer = findBinary('redis-server');
  if (!redisServer) {
    throw new MissingServiceError(
      `Redis does not answer on ${url.hostname}:${port} and redis-server is not installed: install Redis 7 (apt-get install redis-server) or set REDIS_URL`,
    );
  }
  const dataDir = join(dataRoot, `redis-${port}`);
  mkdirSync(dataDir, { recursive: true });
  // The persistence the design asks for: append-only, fsync every second, never evict queue data.
  run(redisServer, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--daemonize',
    'yes',
    '--dir',
    dataDir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--logfile',
    join(dataDir, 'redis.log'),
    '--pidfile',
    join(dataDir, 'redis.pid'),
  ]);
  if (!(await waitForPort(url.hostname, port, 10_000))) throw new MissingServiceError(`started Redis in ${dataDir} but it does not answer`);
  return 'started';
}
