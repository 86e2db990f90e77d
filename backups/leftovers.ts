/**
 * What a backup, restore or verification leaves behind when its process dies half-way
 * (SIGKILL, OOM, a lost machine), swept at start-up of every worker serving the
 * backups queue (app/start.ts) and by the daily maintenance job. Scratch databases and
 * temporary copies carry their owner (ownerTag: the deployment's database), and a sweep
 * touches only its own, so deployments sharing a server never remove each other's:
 *
 * - Manifest rows left `running`. A row is marked failed only when it cannot still be
 *   running: it started more than STALE_RUN_GRACE_MS ago AND its BullMQ job is not
 *   active. An attempt in progress keeps its job active on whichever replica runs it
 *   (the lock is renewed while that process lives; when it dies, BullMQ's stalled check
 *   moves the job back within about 25 s, see jobs/run-workers.ts), so replicas
 *   sweeping at the same time never fail each other's runs. When Redis cannot be asked,
 *   no row is touched. The update is a compare-and-set on (status, started_at): a retry
 *   that took the row over in the meantime (claimBackup resets started_at) keeps it.
 *   Even in the worst case (a hung process whose lock lapsed, then resumed), the run's
 *   own finishBackup writes its real outcome over the `failed` mark.
 * - `<key>.partial` files in the local backup folder (LocalStorage writes there and
 *   renames on success): deleted when untouched for ORPHAN_MIN_AGE_MS and not of a
 *   backup whose row is still `running`. A live write touches its file continuously.
 * - Scratch databases of verifications (`uvis_verify_<owner>_…`, see verify-backup.ts):
 *   dropped when older than ORPHAN_MIN_AGE_MS (the creation time is in the name; for
 *   names of earlier versions, without an owner, the server's PG_VERSION file of the
 *   database, when the role may read it) and not in use: the drop is not forced, so a
 *   database with a session (a verification restoring into it) refuses and stays.
 * - Temporary copies fetched for a verification or a restore (`uvis-restore-<owner>-*` in
 *   the temp folder, a whole dump each): removed when nothing in them changed for
 *   TEMP_COPY_MIN_AGE_MS. The manifest copies a restore keeps there
 *   (`uvis-manifest-*.json`) are never touched: they may be all that is left of it.
 */
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { isSafeDatabaseName, withAdminConnection } from '../db/ensure-database.js';
import type { Db } from '../db/knex.js';
import type { Logger } from '../lib/logger.js';

/** A `running` row younger than this is never touched, whatever Redis says. */
export const STALE_RUN_GRACE_MS = 15 * 60_000;
/** `.partial` files and scratch databases younger than this are never removed. */
export const ORPHAN_MIN_AGE_MS = 60 * 60_000;
/** Temporary copies of a dump are kept a day: a restore reads its copy for as long as pg_restore runs. */
export const TEMP_COPY_MIN_AGE_MS = 24 * 60 * 60_000;
/** The prefix of fetchVerified's temporary folders (restore.ts). */
export const TEMP_COPY_PREFIX = 'uvis-restore-';

export const SCRATCH_PREFIX = 'uvis_verify_';
/** Scratch databases of versions before owner tags: uvis_verify_<hex>. */
const LEGACY_SCRATCH = new RegExp(`^${SCRATCH_PREFIX}[0-9a-f]+$`);

/**
 * Which deployment made a scratch database or a temporary copy: a short hash of its
 * database's name. Several deployments (or test runs) may share one PostgreSQL server and
 * one temp folder; each sweep removes only its own leftovers.
 */
export function ownerTag(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres';
  return createHash('sha256').update(name).digest('hex').slice(0, 8);
}

/** A scratch database name that carries its owner and creation time: uvis_verify_<owner>_<ms base 36>_<random>. */
export function scratchDatabaseName(owner: string, random: string, now = new Date()): string {
  return `${SCRATCH_PREFIX}${owner}_${now.getTime().toString(36)}_${random}`;
}

/** The creation time in a scratch database's name when the owner made it; undefined for another owner's or an earlier version's. */
export function scratchCreatedAt(name: string, owner: string): Date | undefined {
  const match = new RegExp(`^${SCRATCH_PREFIX}${owner}_([0-9a-z]{8,9})_[0-9a-f]+$`).exec(name);
  if (!match) return undefined;
  const ms = parseInt(match[1]!, 36);
  return Number.isSafeInteger(ms) ? new Date(ms) : undefined;
}

/** The folder-name prefix of an owner's temporary copies (fetchVerified adds random characters). */
export function tempCopyPrefix(owner: string): string {
  return `${TEMP_COPY_PREFIX}${owner}-`;
}

/** 'active', another BullMQ state, 'unknown' (no such job) — or a thrown error when Redis cannot be asked. */
export type JobStateOf = (jobId: string) => Promise<string>;

export interface SweepContext {
  db: Db;
  /** Any database on the server: scratch databases are server-wide. */
  databaseUrl: string;
  backupDir: string;
  /** Where fetchVerified puts its temporary copies; the system's temp folder by default. */
  tempDir?: string;
  jobState: JobStateOf;
  log: Logger;
  now?: Date;
  staleRunGraceMs?: number;
  orphanMinAgeMs?: number;
}

export interface SweepResult {
  /** Rows marked failed. */
  backups: string[];
  /** Paths of deleted .partial files, relative to the backup folder. */
  partialFiles: string[];
  scratchDatabases: string[];
  /** Temporary copies (folder names) removed. */
  tempCopies: string[];
  /** What could not be checked this time (Redis down, a folder unreadable ...). */
  problems: string[];
}

export async function sweepLeftovers(ctx: SweepContext): Promise<SweepResult> {
  const result: SweepResult = { backups: [], partialFiles: [], scratchDatabases: [], tempCopies: [], problems: [] };
  const note = (what: string) => (err: unknown) => {
    result.problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  };
  await staleRuns(ctx, result).catch(note('stale running backups'));
  await partialFiles(ctx, result).catch(note('.partial files'));
  await scratchDatabases(ctx, result).catch(note('scratch databases'));
  await tempCopies(ctx, result).catch(note('temporary copies'));
  const counts = sweptCounts(result);
  if (Object.values(counts).some((n) => n > 0)) ctx.log.warn({ swept: counts, ...result }, 'backup leftovers swept');
  else ctx.log.info({ swept: counts, problems: result.problems }, 'no backup leftovers to sweep');
  if (result.problems.length) ctx.log.warn({ problems: result.problems }, 'backup leftovers sweep incomplete');
  return result;
}

/** How many of each kind of leftover a sweep removed. */
export function sweptCounts(result: SweepResult): { backups: number; partialFiles: number; scratchDatabases: number; tempCopies: number } {
  return {
    backups: result.backups.length,
    partialFiles: result.partialFiles.length,
    scratchDatabases: result.scratchDatabases.length,
    tempCopies: result.tempCopies.length,
  };
}

async function staleRuns(ctx: SweepContext, result: SweepResult): Promise<void> {
  const now = ctx.now ?? new Date();
  const before = new Date(now.getTime() - (ctx.staleRunGraceMs ?? STALE_RUN_GRACE_MS));
  // started_at in microseconds as well: a JavaScript Date keeps only milliseconds, and
  // would never equal the stored now() in the compare-and-set below.
  const rows: { id: string; job_id: string | null; started_at: Date; started_us: string }[] = await ctx
    .db('backups')
    .where({ status: 'running' })
    .where('started_at', '<', before)
    .select('id', 'job_id', 'started_at', ctx.db.raw(`(extract(epoch from started_at) * 1000000)::bigint::text as started_us`));
  for (const row of rows) {
    // No job id: nothing can prove it alive, and it is past the grace period.
    const state = row.job_id ? await ctx.jobState(row.job_id) : 'unknown';
    if (state === 'active') continue;
    const updated = await ctx
      .db('backups')
      .where({ id: row.id, status: 'running' })
      .whereRaw(`(extract(epoch from started_at) * 1000000)::bigint = ?::bigint`, [row.started_us])
      .update({
        status: 'failed',
        finished_at: ctx.db.fn.now(),
        error: `interrupted: still marked running since ${row.started_at.toISOString()} while its job is ${state === 'unknown' ? 'gone' : state}`,
      });
    if (updated) result.backups.push(row.id);
  }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

async function partialFiles(ctx: SweepContext, result: SweepResult): Promise<void> {
  const now = (ctx.now ?? new Date()).getTime();
  const minAge = ctx.orphanMinAgeMs ?? ORPHAN_MIN_AGE_MS;
  let entries: string[];
  try {
    entries = (await readdir(ctx.backupDir, { recursive: true })).map(String);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // no backup made here yet
    throw err;
  }
  const partials = entries.filter((e) => e.endsWith('.partial'));
  if (partials.length === 0) return;
  const running = new Set<string>(await ctx.db('backups').where({ status: 'running' }).pluck('id'));
  for (const entry of partials) {
    const path = join(ctx.backupDir, entry);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || now - info.mtimeMs < minAge) continue;
    const id = UUID.exec(entry)?.[0]?.toLowerCase();
    if (id && running.has(id)) continue;
    await rm(path, { force: true });
    result.partialFiles.push(entry);
  }
}

async function scratchDatabases(ctx: SweepContext, result: SweepResult): Promise<void> {
  const now = (ctx.now ?? new Date()).getTime();
  const minAge = ctx.orphanMinAgeMs ?? ORPHAN_MIN_AGE_MS;
  const owner = ownerTag(ctx.databaseUrl);
  await withAdminConnection(ctx.databaseUrl, async (client) => {
    // Sessions are checked first (a drop of a database in use waits 5 s before it refuses).
    const { rows } = await client.query<{ datname: string; oid: number }>(
      `select datname, oid from pg_database d where datname like $1 and not exists (select 1 from pg_stat_activity a where a.datid = d.oid)`,
      [`${SCRATCH_PREFIX.replace(/_/g, '\\_')}%`],
    );
    for (const { datname, oid } of rows) {
      if (!isSafeDatabaseName(datname)) continue;
      // Our own, dated by name; or one of a version before owner tags, dated by its files; never another deployment's.
      const created = scratchCreatedAt(datname, owner) ?? (LEGACY_SCRATCH.test(datname) ? await createdFromFiles(client, oid) : undefined);
      if (!created || now - created.getTime() < minAge) continue;
      try {
        // Not forced: a database someone is connected to (a running verification) refuses.
        await client.query(`drop database if exists "${datname}"`);
        result.scratchDatabases.push(datname);
      } catch (err) {
        if ((err as { code?: string }).code !== '55006') throw err; // object_in_use: left alone
      }
    }
  });
}

async function tempCopies(ctx: SweepContext, result: SweepResult): Promise<void> {
  const now = (ctx.now ?? new Date()).getTime();
  const root = ctx.tempDir ?? tmpdir();
  const prefix = tempCopyPrefix(ownerTag(ctx.databaseUrl));
  const dirs = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name.startsWith(prefix));
  for (const dir of dirs) {
    const path = join(root, dir.name);
    // The newest change of the folder or of anything in it (fetchVerified writes one file).
    const inside = await readdir(path).catch(() => []);
    const times = await Promise.all(
      [path, ...inside.map((f) => join(path, f))].map((p) =>
        stat(p)
          .then((i) => i.mtimeMs)
          .catch(() => Infinity),
      ),
    );
    if (now - Math.max(...times) < TEMP_COPY_MIN_AGE_MS) continue;
    await rm(path, { recursive: true, force: true });
    result.tempCopies.push(dir.name);
  }
}

/** When a database was made, from its directory's PG_VERSION file; undefined when the role may not read server files. */
async function createdFromFiles(client: pg.Client, oid: number): Promise<Date | undefined> {
  try {
    const { rows } = await client.query<{ modification: Date | null }>(`select (pg_stat_file('base/' || $1::text || '/PG_VERSION', true)).modification`, [oid]);
    return rows[0]?.modification ?? undefined;
  } catch {
    return undefined;
  }
}
