/**
 * npm run restore -- <backup id | latest> [--yes] [--database <name or postgres:// URL>] [--files]
 *
 * Checks the backup's SHA-256 first and refuses a damaged or unknown backup with
 * nothing changed; asks for confirmation unless --yes; restores into the configured
 * database (DATABASE_URL) or the one named. --files also unpacks a weekly backup's
 * uploaded files into UPLOADS_DIR. Stop the API and workers before restoring into
 * the live database.
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { getBackup, latestGoodBackup, type BackupRow } from '../backups/manifest.js';
import { DamagedBackupError, fetchVerified, restoreDump } from '../backups/restore.js';
import { BackupNotFoundError, createStorages } from '../backups/storage.js';
import { ensureDatabase } from '../db/ensure-database.js';
import { createDb } from '../db/knex.js';
import { ConfigError, loadConfig } from '../lib/config.js';

const USAGE = 'usage: npm run restore -- <backup id | latest> [--yes] [--database <name or postgres:// URL>] [--files]';

/** Exit codes: 2 usage or unknown backup, 3 damaged backup, 4 refused at the prompt, 1 anything else. */
class RestoreError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function targetUrl(configured: string, database?: string): string {
  if (!database) return configured;
  if (/^postgres(ql)?:\/\//.test(database)) return database;
  if (!/^[A-Za-z0-9_-]+$/.test(database)) throw new RestoreError(`--database: "${database}" is neither a database name nor a postgres:// URL`, 2);
  const url = new URL(configured);
  url.pathname = `/${database}`;
  return url.toString();
}

const describe = (url: string) => {
  const u = new URL(url);
  return `${u.pathname.slice(1)} on ${u.hostname}:${u.port || 5432}`;
};

async function confirm(backup: BackupRow, target: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new RestoreError('refusing to restore without confirmation: run it in a terminal or pass --yes', 4);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const name = new URL(target).pathname.slice(1);
  const answer = await rl.question(
    `This replaces the data in database ${describe(target)} with backup ${backup.id} (${backup.kind}, ${backup.started_at.toISOString()}).\nType the database name (${name}) to continue: `,
  );
  rl.close();
  return answer.trim() === name;
}

async function main(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { yes: { type: 'boolean', default: false }, database: { type: 'string' }, files: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new RestoreError(USAGE, 2);
  const which = positionals[0]!;
  if (which !== 'latest' && !/^[0-9a-f-]{36}$/i.test(which)) throw new RestoreError(`"${which}" is not a backup id (a UUID) or "latest"\n${USAGE}`, 2);

  const config = loadConfig();
  const db = createDb({ url: config.databaseUrl, poolMin: 0, poolMax: 2, statementTimeoutMs: 60_000, applicationName: 'uvis-restore' });
  try {
    const backup = which === 'latest' ? await latestGoodBackup(db) : await getBackup(db, which);
    if (!backup) throw new RestoreError(which === 'latest' ? 'there is no successful backup to restore' : `no backup with id ${which}`, 2);
    if (backup.status !== 'succeeded') throw new RestoreError(`backup ${backup.id} is ${backup.status}${backup.error ? ` (${backup.error})` : ''}; only a succeeded backup can be restored`, 2);
    if (values.files && !backup.files_location) throw new RestoreError(`backup ${backup.id} has no uploaded files (only weekly backups do)`, 2);

    const storages = await createStorages(config.backup);
    // Checksums first: a damaged backup is refused before anything is touched.
    const dump = await fetchVerified(storages, backup).catch((err: unknown) => {
      if (err instanceof DamagedBackupError) throw new RestoreError(`${err.message}; nothing was changed`, 3);
      if (err instanceof BackupNotFoundError) throw new RestoreError(`${err.message}; nothing was changed`, 2);
      throw err;
    });
    const files = values.files ? await fetchVerified(storages, backup, 'files').catch(async (err: unknown) => {
      await dump.cleanup();
      throw err instanceof DamagedBackupError ? new RestoreError(`${err.message}; nothing was changed`, 3) : err;
    }) : undefined;
    try {
      const target = targetUrl(config.databaseUrl, values.database);
      if (!values.yes && !(await confirm(backup, target))) throw new RestoreError('not confirmed; nothing was changed', 4);
      await ensureDatabase(target);
      // The manifest is not in the dump (it describes backups); keep it across a restore of this database.
      const sameDatabase = new URL(target).pathname === new URL(config.databaseUrl).pathname && new URL(target).host === new URL(config.databaseUrl).host;
      const manifest = sameDatabase ? await db('backups').select('*') : [];
      await restoreDump(dump.path, target, config.backup.pgBinDir);
      if (manifest.length) {
        // Who asked for a backup may not exist in the restored data: keep the row, drop that link.
        const users = new Set<number>(await db('users').pluck('id'));
        await db('backups')
          .insert(manifest.map((row) => ({ ...row, requested_by: users.has(row.requested_by) ? row.requested_by : null, table_counts: row.table_counts ? JSON.stringify(row.table_counts) : null })))
          .onConflict('id')
          .ignore();
      }
      if (files) {
        await mkdir(config.backup.uploadsDir, { recursive: true });
        execFileSync('tar', ['-xzf', files.path, '-C', config.backup.uploadsDir]);
      }
      return `restored backup ${backup.id} (${backup.kind}, ${backup.started_at.toISOString()}) into ${describe(target)}${files ? ` and its files into ${config.backup.uploadsDir}` : ''}`;
    } finally {
      await dump.cleanup();
      await files?.cleanup();
    }
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (message) => {
    process.stdout.write(`${message}\n`);
  },
  (err: unknown) => {
    if (err instanceof RestoreError || err instanceof ConfigError) {
      process.stderr.write(`restore: ${err.message}\n`);
      process.exit(err instanceof RestoreError ? err.exitCode : 2);
    }
    process.stderr.write(`restore failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
