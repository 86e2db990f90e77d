/**
 * Leftovers of backup work whose process died half-way: manifest rows left `running`,
 * `.partial` files, scratch verification databases. Swept at start-up of a worker that
 * serves the backups queue and by the maintenance job; with real PostgreSQL, Redis
 * (BullMQ job states) and files. Only what cannot still be in use goes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerTag, scratchDatabaseName, sweepLeftovers, tempCopyPrefix } from '../../backups/leftovers.js';
import { artifactKey } from '../../backups/storage.js';
import { createDatabase, databaseUrl } from '../../db/ensure-database.js';
import { createDb, type Db } from '../../db/knex.js';
import { createLogger } from '../../lib/logger.js';
import { waitFor } from '../helpers/api-client.js';
import { baseUrls, createTestDatabase, withAdminClient, type TestDatabase } from '../helpers/databases.js';
import { newPrefix, startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { queuePrefix } from '../../jobs/index.js';

const HOUR = 3_600_000;
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `uvis-${name}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A file under the backup folder, as LocalStorage names a write in progress, last written `ageMs` ago. */
function partialFile(dir: string, backupId: string, ageMs: number, suffix = '.partial'): string {
  const key = `${artifactKey('manual', backupId, new Date(), 'dump', 'UTC')}${suffix}`;
  mkdirSync(dirname(join(dir, key)), { recursive: true });
  writeFileSync(join(dir, key), 'PGDMP half a dump');
  const then = new Date(Date.now() - ageMs);
  utimesSync(join(dir, key), then, then);
  return key;
}

/** A temporary copy as fetchVerified makes it, last changed `ageMs` ago. */
function tempCopy(ageMs: number, owner: string): string {
  const dir = mkdtempSync(join(tmpdir(), tempCopyPrefix(owner)));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'backup.dump'), 'PGDMP a fetched copy');
  const then = new Date(Date.now() - ageMs);
  utimesSync(join(dir, 'backup.dump'), then, then);
  utimesSync(dir, then, then);
  return dir;
}

/** A scratch database as a verification names it, created `ageMs` ago by its name. */
async function scratchDatabase(ageMs: number, owner: string): Promise<string> {
  const name = scratchDatabaseName(owner, randomBytes(4).toString('hex'), new Date(Date.now() - ageMs));
  await withAdminClient((c) => createDatabase(c, name));
  cleanups.push(() => withAdminClient((c) => c.query(`drop database if exists "${name}" with (force)`)));
  return name;
}

async function databaseExists(name: string): Promise<boolean> {
  return withAdminClient(async (c) => ((await c.query('select 1 from pg_database where datname = $1', [name])).rowCount ?? 0) > 0);
}

async function runningRow(db: Db, jobId: string | null, ageMs: number, status = 'running'): Promise<string> {
  const id = randomUUID();
  // now() minus an interval: microseconds, as claimBackup stores them.
  await db('backups').insert({ id, kind: 'manual', job_id: jobId, status, started_at: db.raw(`now() - ?::interval`, [`${ageMs} milliseconds`]) });
  return id;
}

const statusOf = async (db: Db, id: string) => (await db('backups').where({ id }).first()).status as string;

describe('backup leftovers', () => {
  let database: TestDatabase;
  let db: Db;
  let prefix: string;
  let backupDir: string;
  let activeJob: Job;
  let uvis: TestUvis;
  const rows: Record<string, string> = {};
  const files: Record<string, string> = {};
  const scratch: Record<string, string> = {};
  const copies: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase();
    cleanups.push(() => database.drop());
    db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 10_000 });
    cleanups.push(() => db.destroy());
    prefix = newPrefix();
    backupDir = tempDir('leftover-backups');
    const backupsPrefix = queuePrefix(prefix, 'backups');

    // A backup job in progress on another replica: active, its lock held.
    const connection = new Redis(baseUrls().redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('backups', { connection, prefix: backupsPrefix });
    const other = new Worker('backups', null, {
      connection: new Redis(baseUrls().redisUrl, { maxRetriesPerRequest: null }),
      prefix: backupsPrefix,
      lockDuration: 600_000,
    });
    cleanups.push(async () => {
      await other.close(true);
      await queue.close();
      connection.disconnect();
    });
    await queue.add('backup.run', { kind: 'manual' });
    activeJob = (await other.getNextJob('other-replica'))!;
    expect(await activeJob.getState()).toBe('active');

    rows.dead = await runningRow(db, 'job-of-a-dead-process', 2 * HOUR);
    rows.live = await runningRow(db, activeJob.id!, 2 * HOUR);
    rows.young = await runningRow(db, 'job-just-gone', 60_000);
    rows.noJob = await runningRow(db, null, 2 * HOUR);
    rows.done = await runningRow(db, 'done', 2 * HOUR, 'succeeded');

    files.dead = partialFile(backupDir, rows.dead, 2 * HOUR);
    files.live = partialFile(backupDir, rows.live, 2 * HOUR); // its row is still running: a write in progress
    files.fresh = partialFile(backupDir, randomUUID(), 60_000);
    files.complete = partialFile(backupDir, rows.done, 2 * HOUR, '');

    const own = ownerTag(database.url);
    // Another deployment on the same server and temp folder (another test file, say): never ours to sweep.
    const foreign = ownerTag('postgres://localhost/another_deployment');
    copies.old = tempCopy(25 * HOUR, own);
    copies.recent = tempCopy(2 * HOUR, own); // a restore may still be reading it
    copies.foreign = tempCopy(25 * HOUR, foreign);
    scratch.old = await scratchDatabase(2 * HOUR, own);
    scratch.fresh = await scratchDatabase(60_000, own);
    scratch.inUse = await scratchDatabase(2 * HOUR, own);
    scratch.foreign = await scratchDatabase(2 * HOUR, foreign);
    // A verification still restoring into it.
    const session = new pg.Client({ connectionString: databaseUrl(baseUrls().databaseUrl, scratch.inUse) });
    await session.connect();
    cleanups.push(() => session.end());
  });

  it('at start-up of a backups worker: only rows, files and databases that cannot be in use go', async () => {
    uvis = await startTestUvis({ role: 'worker', database, prefix, env: { BACKUP_DIR: backupDir } });
    cleanups.push(() => uvis.stop({ keepData: true }));
    const line = await waitFor(async () => uvis.logs.find((l) => l.msg === 'backup leftovers swept'), { timeoutMs: 20_000, what: 'sweep log line' });
    expect(line.backups).toEqual(expect.arrayContaining([rows.dead, rows.noJob]));
    expect((line.swept as { backups: number }).backups).toBe(2);
    expect(line.partialFiles).toEqual([files.dead]);
    expect(line.scratchDatabases).toContain(scratch.old);

    expect(await statusOf(db, rows.dead!)).toBe('failed');
    expect((await db('backups').where({ id: rows.dead }).first()).error).toMatch(/^interrupted: still marked running since .* while its job is gone/);
    expect(await statusOf(db, rows.noJob!)).toBe('failed');
    // Its job is active on another replica: it may well be running.
    expect(await statusOf(db, rows.live!)).toBe('running');
    // Younger than the grace period.
    expect(await statusOf(db, rows.young!)).toBe('running');
    expect(await statusOf(db, rows.done!)).toBe('succeeded');

    expect(existsSync(join(backupDir, files.dead!))).toBe(false);
    for (const kept of [files.live, files.fresh, files.complete]) expect(existsSync(join(backupDir, kept!))).toBe(true);

    expect(await databaseExists(scratch.old!)).toBe(false);
    expect(await databaseExists(scratch.fresh!)).toBe(true);
    expect(await databaseExists(scratch.inUse!)).toBe(true);
    expect(await databaseExists(scratch.foreign!)).toBe(true);

    expect(existsSync(copies.old!)).toBe(false);
    expect(existsSync(copies.recent!)).toBe(true);
    expect(existsSync(copies.foreign!)).toBe(true);
    expect(line.tempCopies).toContain(basename(copies.old!));
  });

  it('the maintenance job sweeps too, and counts what it swept', async () => {
    const dead = await runningRow(db, 'another-dead-job', 3 * HOUR);
    const file = partialFile(backupDir, dead, 3 * HOUR);
    const old = await scratchDatabase(5 * HOUR, ownerTag(database.url));
    const { queues } = uvis.running.deps;
    const job = await queues.maintenance.add('maintenance.cleanup', {});
    await waitFor(async () => (await queues.maintenance.getJobState(job.id!)) === 'completed', { timeoutMs: 20_000, what: 'cleanup' });
    const result = (await queues.maintenance.getJob(job.id!))!.returnvalue;
    expect(result.backupLeftovers).toMatchObject({ backups: 1, partialFiles: 1, tempCopies: expect.any(Number) });
    expect(result.backupLeftovers.scratchDatabases).toBeGreaterThanOrEqual(1);
    expect(await statusOf(db, dead)).toBe('failed');
    expect(existsSync(join(backupDir, file))).toBe(false);
    expect(await databaseExists(old)).toBe(false);
    // Still active elsewhere: still running.
    expect(await statusOf(db, rows.live!)).toBe('running');
    expect(await databaseExists(scratch.inUse!)).toBe(true);
  });

  it('touches no row when Redis cannot say whether its job is active', async () => {
    const dead = await runningRow(db, 'unknowable', 2 * HOUR);
    const result = await sweepLeftovers({
      db,
      databaseUrl: database.url,
      backupDir,
      jobState: async () => {
        throw new Error('Redis does not answer');
      },
      log: createLogger({ level: 'silent' }),
    });
    expect(result.backups).toEqual([]);
    expect(result.problems).toEqual([expect.stringContaining('Redis does not answer')]);
    expect(await statusOf(db, dead)).toBe('running');
  });
});
