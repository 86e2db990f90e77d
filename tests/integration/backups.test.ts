/**
 * Backups with the real pg_dump and pg_restore: round trips through the local and
 * S3 targets, damaged and unknown backups refused, one backup per schedule tick with
 * two workers, retention, verification, the admin API and its boundaries.
 */
import { ownerTag } from '../../backups/leftovers.js';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { DEMO_DISPATCHER, DEMO_DRIVER2, waitFor } from '../helpers/api-client.js';
import { createOrder } from '../helpers/fixtures.js';
import { parseMetrics, total } from '../helpers/prom-text.js';
import { startS3, type TestS3 } from '../helpers/s3-server.js';
import { databaseFingerprint } from '../helpers/snapshot.js';
import { useScratch } from '../helpers/scratch.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { withAdminClient } from '../helpers/databases.js';
import { Redis } from 'ioredis';
import { createDb } from '../../db/knex.js';
import { closeQueues, createQueues } from '../../jobs/queues.js';
import { latestGoodBackup } from '../../backups/manifest.js';
import { runBackup } from '../../backups/run-backup.js';
import { createStorages } from '../../backups/storage-targets.js';
import { createLogger } from '../../lib/logger.js';

const execFileAsync = promisify(execFile);
const silentLog = createLogger({ level: 'silent' });
const { tempDir, removeAfter, cleanups } = useScratch();

async function startWithBackups(env: Record<string, string> = {}): Promise<TestUvis> {
  const uvis = await startTestUvis({ role: 'all', env: { BACKUP_DIR: tempDir('backups'), UPLOADS_DIR: tempDir('uploads'), ...env } });
  cleanups.push(() => uvis.stop());
  return uvis;
}

async function backupNow(uvis: TestUvis, token: string, kind: 'manual' | 'weekly' = 'manual') {
  let jobId: string;
  if (kind === 'manual') {
    const res = await uvis.api.post('/api/v1/admin/backups', undefined, token);
    expect(res.status).toBe(202);
    jobId = res.body.job_id;
  } else {
    jobId = (await uvis.running.deps.queues.backups.add('backup.run', { kind: 'weekly' })).id!;
  }
  const job = await waitFor(
    async () => {
      const status = (await uvis.api.get(`/api/v1/jobs/backups/${jobId}`, token)).body;
      return status.state === 'completed' || status.state === 'failed' ? status : undefined;
    },
    { timeoutMs: 30_000, what: 'backup job' },
  );
  expect(job.state, job.failed_reason).toBe('completed');
  const backup = (await uvis.api.get(`/api/v1/admin/backups/${job.result.backupId}`, token)).body;
  expect(backup.status).toBe('succeeded');
  return backup;
}

/** Runs the restore command exactly as an operator would. */
async function restore(uvis: TestUvis, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', projectPath('scripts', 'restore.ts'), ...args], {
      cwd: projectPath(),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: uvis.database.url,
        DATABASE_DIRECT_URL: uvis.database.directUrl,
        REDIS_URL: uvis.config.redisUrl,
        REDIS_PREFIX: uvis.config.redisPrefix,
        BACKUP_DIR: uvis.config.backup.dir,
        UPLOADS_DIR: uvis.config.backup.uploadsDir,
        BACKUP_TARGETS: uvis.config.backup.targets.join(','),
        ...(uvis.config.backup.s3.endpoint
          ? {
              BACKUP_S3_ENDPOINT: uvis.config.backup.s3.endpoint,
              BACKUP_S3_BUCKET: uvis.config.backup.s3.bucket!,
              BACKUP_S3_PREFIX: uvis.config.backup.s3.prefix,
              BACKUP_S3_ACCESS_KEY_ID: 'S3RVER',
              BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER',
            }
          : {}),
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Waits until the orders worker has filled in every distance, so nothing changes behind the test's back. */
const settled = (uvis: TestUvis) =>
  waitFor(async () => Number((await uvis.running.deps.db('orders').whereNull('distance_km').count<{ c: string }[]>('* as c'))[0]!.c) === 0, {
    what: 'order jobs',
  });

const business = async (uvis: TestUvis) => {
  const { db } = uvis.running.deps;
  return {
    orders: await db('orders').orderBy('id').select('*'),
    users: await db('users').orderBy('id').select('id', 'email', 'password_hash'),
    vehicles: await db('vehicles').orderBy('id').select('*'),
  };
};

describe('backup round trips', () => {
  it('local: back up, lose the data, restore, data equal', async () => {
    const uvis = await startWithBackups();
    const admin = await uvis.api.login();
    for (let i = 0; i < 3; i++) await createOrder(uvis.api, admin, { notes: `원본 ${i}` });
    await settled(uvis);
    const before = await business(uvis);
    // An outbox row still waiting when the backup is taken (a queue no worker of this version serves).
    const [waiting] = await uvis.running.deps.db('outbox').insert({ queue: 'future', job_name: 'x.y', payload: {} }).returning(['id', 'job_key']);
    // A webhook delivery attempted once and due again in an hour when the backup is taken.
    const [endpoint] = await uvis.running.deps
      .db('webhook_endpoints')
      .insert({ url: 'https://shipper.example.com/hooks', events: ['*'], secret_enc: 'x' })
      .returning('id');
    const dueAgain = new Date(Date.now() + 3_600_000);
    const [pending] = await uvis.running.deps
      .db('webhook_deliveries')
      .insert({ endpoint_id: endpoint.id, event_key: randomUUID(), event_type: 'order.created', body: '{}', attempts: 1, next_attempt_at: dueAgain })
      .returning('id');
    // GPS points in this month's partition, next month's and the default one (a month with no partition), and a reading.
    const gps = async (on: TestUvis = uvis) =>
      (
        await on.running.deps.db.raw(
          `select point_key, tableoid::regclass::text as p from vehicle_locations where point_key like 'b:%'
           union all select 'reading', tableoid::regclass::text from temperature_readings where sensor = 'backup'
           order by 1`,
        )
      ).rows;
    await uvis.running.deps.db.raw(`
      insert into vehicle_locations (driver_id, latitude, longitude, recorded_at, received_at, point_key) values
        (1, 37, 127, now(), now(), 'b:now'), (1, 37, 127, date_trunc('month', now()) + interval '1 month 1 day', now(), 'b:next'),
        (1, 37, 127, now() - interval '20 years', now(), 'b:old');
      insert into temperature_readings (vehicle_id, sensor, recorded_at, temperature_c, source) values (1, 'backup', now(), 4, 'gateway');`);
    const gpsBefore = await gps();
    expect(new Set(gpsBefore.map((r: { p: string }) => r.p)).size).toBe(4);
    const backup = await backupNow(uvis, admin);
    expect(backup).toMatchObject({ kind: 'manual', targets: ['local'], verification_status: null });
    expect(backup.size_bytes).toBeGreaterThan(1000);
    expect(backup.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(backup.table_counts.orders).toBe(before.orders.length);
    expect(existsSync(join(uvis.config.backup.dir, backup.location))).toBe(true);

    // Lose data: orders deleted, one changed.
    await uvis.running.deps.db.raw(`delete from orders where notes like '원본%'; delete from vehicle_locations where point_key like 'b:%'`);
    await uvis.running.deps.db('vehicles').where({ id: 1 }).update({ capacity_kg: 1 });
    expect((await business(uvis)).orders.length).toBeLessThan(before.orders.length);

    await uvis.running.shutdown.run('restore');
    // Events of changes the restore throws away, still queued (a retry pending, a failure kept for Bull Board).
    const redis = new Redis(uvis.config.redisUrl);
    const queues = createQueues(redis, uvis.config.redisPrefix);
    cleanups.push(async () => {
      await closeQueues(queues);
      redis.disconnect();
    });
    const stale = {
      eventId: 9_999_999,
      dispatchId: 1,
      orderId: 1,
      driverId: 1,
      vehicleId: 1,
      from: 'ASSIGNED',
      to: 'ACCEPTED',
      changedBy: null,
      changedAt: new Date().toISOString(),
      note: null,
    };
    await queues.dispatches.add('dispatch.status_changed', stale);
    await queues.dispatches.add('dispatch.status_changed', stale, { delay: 60_000 });
    await queues.orders.add('order.changed', { eventId: 9_999_998, orderId: 1, change: 'updated' });
    // A webhook retry naming a delivery id that, after the restore, belongs to another row (or none).
    await queues.webhooks!.add('webhook.deliver', { deliveryId: 9_999_997, endpointId: endpoint.id }, { delay: 60_000 });
    // The same database, spelled differently (with or without the default port).
    const spelled = new URL(uvis.database.directUrl);
    spelled.port = spelled.port ? '' : '5432';
    const restored = await restore(uvis, [backup.id, '--yes', '--database', spelled.toString()]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored backup ${backup.id}`);
    expect(restored.stdout).toContain(
      'removed 4 queued jobs of the discarded timeline (orders, dispatches, webhooks); queued 1 pending webhook deliveries again',
    );
    for (const queue of [queues.dispatches, queues.orders]) {
      expect(Object.values(await queue.getJobCounts('waiting', 'delayed', 'failed')).reduce((a, b) => a + b, 0)).toBe(0);
    }
    // The restored delivery's job, continuing its schedule when it was due: the stale one is gone.
    const webhookJobs = await queues.webhooks!.getJobs(['waiting', 'delayed', 'failed']);
    expect(webhookJobs.map((j) => j.data)).toEqual([{ deliveryId: pending.id, endpointId: endpoint.id, attemptsBefore: 1 }]);
    expect(Math.abs(webhookJobs[0]!.timestamp + webhookJobs[0]!.delay - dueAgain.getTime())).toBeLessThan(5000);
    const after = await startTestUvis({ role: 'api', database: uvis.database, prefix: uvis.config.redisPrefix, env: { BACKUP_DIR: uvis.config.backup.dir } });
    cleanups.push(() => after.stop({ keepData: true }));
    expect(await business(after)).toEqual(before);
    // The partitioned tables come back whole, each row in its partition.
    expect(await gps(after)).toEqual(gpsBefore);
    // The manifest survives a restore of the database it lives in.
    expect((await after.api.get(`/api/v1/admin/backups/${backup.id}`, await after.api.login())).status).toBe(200);
    // The waiting row gets a new job key: Redis may still hold a finished job under the old one.
    const rekeyed = await after.running.deps.db('outbox').where({ id: waiting.id }).first();
    expect(rekeyed.published_at).toBeNull();
    expect(rekeyed.job_key).not.toBe(waiting.job_key);
  });

  it('S3: the same round trip through a real S3-compatible server on loopback', async () => {
    const s3: TestS3 = await startS3();
    cleanups.push(() => s3.stop());
    const uvis = await startWithBackups({ BACKUP_TARGETS: 'local,s3', ...s3.env });
    const admin = await uvis.api.login();
    await createOrder(uvis.api, admin, { notes: 'S3 원본' });
    await settled(uvis);
    const before = await business(uvis);
    const backup = await backupNow(uvis, admin);
    expect(backup.targets).toEqual(['local', 's3']);
    expect(await s3.keys()).toContain(`test/${backup.location}`);
    await uvis.running.deps.db('orders').delete();

    await uvis.running.shutdown.run('restore');
    // Restore from S3 alone: the local copy is not even configured.
    rmSync(join(uvis.config.backup.dir, backup.location));
    const restored = await restore(uvis, ['latest', '--yes'], { BACKUP_TARGETS: 's3' });
    expect(restored.code, restored.stderr).toBe(0);
    const db = (await startTestUvis({ role: 'api', database: uvis.database, prefix: uvis.config.redisPrefix })).running;
    cleanups.push(() => db.shutdown.run('done'));
    expect(await db.deps.db('orders').orderBy('id').select('*')).toEqual(before.orders);
  });

  it('weekly full backups carry the uploaded files too', async () => {
    const uvis = await startWithBackups();
    const admin = await uvis.api.login();
    mkdirSync(join(uvis.config.backup.uploadsDir, 'pod'), { recursive: true });
    writeFileSync(join(uvis.config.backup.uploadsDir, 'pod', '인수증-42.txt'), '수령인 서명 완료');
    const backup = await backupNow(uvis, admin, 'weekly');
    expect(backup.kind).toBe('weekly');
    expect(backup.files_location).toMatch(/\.tar\.gz$/);
    const fresh = tempDir('uploads-restored');
    await uvis.running.shutdown.run('restore');
    // An UPLOADS_DIR that cannot be written (here: below a regular file) stops the restore before the database.
    const db = createDb({ url: uvis.database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 10_000 });
    cleanups.push(() => db.destroy());
    await db('vehicles').where({ id: 1 }).update({ capacity_kg: 1234 }); // a change a restore would undo
    const before = await databaseFingerprint(db);
    const notADir = join(tempDir('not-a-dir'), 'file');
    writeFileSync(notADir, 'x');
    const refused = await restore(uvis, [backup.id, '--yes', '--files'], { UPLOADS_DIR: join(notADir, 'uploads') });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot unpack the files into .*; nothing was changed/);
    expect(await databaseFingerprint(db)).toEqual(before);
    const restored = await restore(uvis, [backup.id, '--yes', '--files'], { UPLOADS_DIR: fresh });
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(fresh, 'pod', '인수증-42.txt'), 'utf8')).toBe('수령인 서명 완료');
  });
});

describe('a damaged first copy', () => {
  it('verification and restore use the second target, and say so', async () => {
    const s3 = await startS3();
    cleanups.push(() => s3.stop());
    const uvis = await startWithBackups({ BACKUP_TARGETS: 'local,s3', ...s3.env });
    const admin = await uvis.api.login();
    await createOrder(uvis.api, admin, { notes: '두 번째 사본' });
    await settled(uvis);
    const before = await business(uvis);
    const backup = await backupNow(uvis, admin);
    expect(backup.targets).toEqual(['local', 's3']);
    // The local copy rots on disk; the S3 copy is good.
    const file = join(uvis.config.backup.dir, backup.location);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(file, bytes);

    const queue = uvis.running.deps.queues.backups;
    const job = await queue.add('backup.verify', {});
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'completed', { timeoutMs: 30_000, what: 'verification' });
    const damagedLocal = new RegExp(`^local: backup ${backup.id} on local is damaged: SHA-256 [0-9a-f]{64} does not match the manifest's ${backup.sha256}$`);
    expect((await queue.getJob(job.id!))!.returnvalue).toMatchObject({
      backupId: backup.id,
      passed: true,
      source: 's3',
      passedOver: [expect.stringMatching(damagedLocal)],
    });
    const warning = uvis.logs.find((l) => l.msg === 'backup copies passed over; verified the copy on s3');
    expect(warning).toMatchObject({ level: 'warn', backupId: backup.id, source: 's3' });

    await uvis.running.deps.db('orders').delete();
    await uvis.running.shutdown.run('restore');
    const restored = await restore(uvis, [backup.id, '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(
      new RegExp(`^restore: warning: passed over local: backup ${backup.id} on local is damaged: .*; using the copy on s3$`, 'm'),
    );
    expect(restored.stdout).toMatch(new RegExp(`^restored backup ${backup.id} \\(manual, [^)]+\\) from s3 into `));
    const after = (await startTestUvis({ role: 'api', database: uvis.database, prefix: uvis.config.redisPrefix })).running;
    cleanups.push(() => after.shutdown.run('done'));
    expect(await after.deps.db('orders').orderBy('id').select('*')).toEqual(before.orders);
  });
});

describe('restore refuses', () => {
  let uvis: TestUvis;
  let backup: { id: string; location: string };
  beforeAll(async () => {
    uvis = await startWithBackups();
    backup = await backupNow(uvis, await uvis.api.login());
  });

  it('without --yes and without a terminal to ask', async () => {
    const result = await restore(uvis, ['latest']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('pass --yes');
  });

  it('a damaged backup file, with the database unchanged', async () => {
    const file = join(uvis.config.backup.dir, backup.location);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(file, bytes);
    const before = await databaseFingerprint(uvis.running.deps.db);
    const result = await restore(uvis, [backup.id, '--yes']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/is damaged: SHA-256 .* does not match the manifest's .*; nothing was changed/);
    expect(await databaseFingerprint(uvis.running.deps.db)).toEqual(before);
  });

  it('an unknown id, a malformed id and a missing argument, with clear messages', async () => {
    const unknown = await restore(uvis, ['00000000-0000-4000-8000-000000000000', '--yes']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no backup with id 00000000-0000-4000-8000-000000000000');
    const malformed = await restore(uvis, ['../../etc/passwd', '--yes']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('is not a backup id');
    const missing = await restore(uvis, []);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('usage: npm run restore');
  });

  /** What a restore could change: the data and the backup manifest. */
  const state = async () => ({
    data: await databaseFingerprint(uvis.running.deps.db),
    manifest: await uvis.running.deps.db('backups').orderBy('id').select('id', 'status', 'location', 'sha256', 'verification_status'),
  });
  const databaseExists = async (name: string) =>
    ((await withAdminClient((c) => c.query('select 1 from pg_database where datname = $1', [name]))).rowCount ?? 0) > 0;
  /** A manifest row like `backup`'s, with changes. */
  const forged = async (changes: Record<string, unknown>) => {
    const row = await uvis.running.deps.db('backups').where({ id: backup.id }).first();
    const id = randomUUID();
    await uvis.running.deps.db('backups').insert({ ...row, table_counts: JSON.stringify(row.table_counts), id, job_id: null, tick_key: null, ...changes });
    return id;
  };

  it('unsafe backup names, on the command line or in a tampered manifest, with nothing changed', async () => {
    const secret = join(tempDir('outside'), 'not-a-backup.dump');
    writeFileSync(secret, 'PGDMP not a backup');
    const outside = await forged({ location: `../../../../../../..${secret}` });
    const before = await state();
    for (const name of ['../../etc/passwd', `${backup.id}/../../x`, 'latest; rm -rf /', '-', '']) {
      const result = await restore(uvis, [name, '--yes']);
      expect(result.code, name).toBe(2);
      expect(result.stderr, name).toMatch(/is not a backup id|usage: npm run restore/);
    }
    const escaping = await restore(uvis, [outside, '--yes']);
    expect(escaping.code).toBe(2);
    expect(escaping.stderr).toMatch(/refusing a key outside the backup folder: .*; nothing was changed/);
    // An unsafe target database name is refused with the arguments, before the backup is even fetched.
    const badTarget = await restore(uvis, [backup.id, '--yes', '--database', 'x"; drop database postgres; --']);
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toContain('--database: "x"; drop database postgres; --" is neither a database name nor a postgres:// URL');
    expect(await state()).toEqual(before);
  });

  it('an unfinished backup (running, failed), with nothing changed', async () => {
    const running = await forged({ status: 'running', finished_at: null });
    const failed = await forged({ status: 'failed', error: 'pg_dump exited with 1: connection lost' });
    const before = await state();
    const stillRunning = await restore(uvis, [running, '--yes']);
    expect(stillRunning.code).toBe(2);
    expect(stillRunning.stderr).toContain(`backup ${running} is running; only a succeeded backup can be restored`);
    const broken = await restore(uvis, [failed, '--yes']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`backup ${failed} is failed (pg_dump exited with 1: connection lost); only a succeeded backup can be restored`);
    expect(await state()).toEqual(before);
  });

  it('--files on a daily backup, which has no files, with nothing changed', async () => {
    const daily = await forged({ kind: 'daily' });
    const before = await state();
    const result = await restore(uvis, [daily, '--yes', '--files']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`backup ${daily} has no uploaded files (only weekly backups do)`);
    expect(await state()).toEqual(before);
  });

  it('a dump pg_restore cannot read (its checksum made to match), with nothing changed, not even a database made for it', async () => {
    const good = await backupNow(uvis, await uvis.api.login());
    // Cut off half-way, and the manifest's checksum and size made to match: only pg_restore can tell.
    const file = join(uvis.config.backup.dir, good.location);
    const bytes = readFileSync(file).subarray(0, Math.floor(good.size_bytes * 0.6));
    writeFileSync(file, bytes);
    await uvis.running.deps
      .db('backups')
      .where({ id: good.id })
      .update({ sha256: createHash('sha256').update(bytes).digest('hex'), size_bytes: bytes.length });
    await uvis.running.deps.db('vehicles').where({ id: 1 }).update({ capacity_kg: 4321 }); // a change a restore would undo
    const before = await state();
    const live = await restore(uvis, [good.id, '--yes']);
    expect(live.code, live.stderr).toBe(1);
    expect(live.stderr).toMatch(/^restore: pg_restore exited with 1: .+; nothing was changed \(the restore ran in one transaction, rolled back\)\n$/s);
    const fresh = `uvis_t_${randomBytes(4).toString('hex')}`;
    cleanups.push(() => withAdminClient((c) => c.query(`drop database if exists "${fresh}" with (force)`)));
    const elsewhere = await restore(uvis, [good.id, '--yes', '--database', fresh]);
    expect(elsewhere.code, elsewhere.stderr).toBe(1);
    expect(elsewhere.stderr).toContain(
      `nothing was changed (the restore ran in one transaction, rolled back, and database ${fresh} made for it was dropped again)`,
    );
    expect(await databaseExists(fresh)).toBe(false);
    expect(await state()).toEqual(before);
  });
});

describe('backup jobs', () => {
  it('a failed dump leaves no file that looks like a backup, and says why', async () => {
    const fakeBin = tempDir('fake-pg');
    // A pg_dump that writes part of a dump and then fails.
    writeFileSync(join(fakeBin, 'pg_dump'), '#!/bin/sh\nprintf "PGDMP partial dump bytes"\necho "connection lost" >&2\nexit 1\n');
    chmodSync(join(fakeBin, 'pg_dump'), 0o755);
    const uvis = await startWithBackups({ PG_BIN_DIR: fakeBin });
    const admin = await uvis.api.login();
    const res = await uvis.api.post('/api/v1/admin/backups', undefined, admin);
    const status = await waitFor(
      async () => {
        const body = (await uvis.api.get(`/api/v1/jobs/backups/${res.body.job_id}`, admin)).body;
        return body.attempts_made >= 1 && body.failed_reason ? body : undefined;
      },
      { what: 'failed attempt' },
    );
    expect(status.failed_reason).toContain('connection lost');
    const rows = await uvis.running.deps.db('backups').select('*');
    expect(rows.every((r) => r.status === 'failed' && /connection lost/.test(r.error))).toBe(true);
    const files = readdirSync(uvis.config.backup.dir, { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith('.dump') || f.endsWith('.partial'))).toEqual([]);
  });

  it('a success mark whose answer is lost never leaves a succeeded row without its file', async () => {
    const uvis = await startWithBackups();
    const { db } = uvis.running.deps;
    // The connection drops right after the success mark commits: every later manifest query fails.
    let backupsQueries = 0;
    const flaky = new Proxy(db, {
      apply(target, self, args) {
        if (args[0] === 'backups' && ++backupsQueries >= 2) throw new Error('Connection terminated unexpectedly');
        return Reflect.apply(target, self, args);
      },
    });
    const ctx = {
      db: flaky,
      databaseUrl: uvis.config.databaseUrl,
      config: uvis.config.backup,
      storages: await createStorages(uvis.config.backup),
      log: silentLog,
    };
    await expect(runBackup(ctx, { kind: 'manual', jobId: 'lost-answer' })).rejects.toThrow(/Connection terminated/);
    const [row] = await db('backups').where({ job_id: 'lost-answer' });
    expect(row.status).toBe('succeeded');
    expect(existsSync(join(uvis.config.backup.dir, row.location))).toBe(true);
  });

  it('two workers with the schedule make one backup per tick', async () => {
    const database = (await startWithBackups()).database;
    const prefix = `t${Date.now().toString(36)}sched`;
    const env = {
      SCHEDULES: 'on',
      BACKUP_DAILY_CRON: '*/2 * * * * *',
      BACKUP_WEEKLY_CRON: '0 0 1 1 *',
      BACKUP_VERIFY_CRON: '0 0 1 1 *',
      BACKUP_RETENTION_CRON: '0 0 1 1 *',
      BACKUP_DIR: tempDir('sched'),
    };
    const workers = [await startTestUvis({ role: 'worker', database, prefix, env }), await startTestUvis({ role: 'worker', database, prefix, env })];
    cleanups.push(...workers.map((w) => () => w.stop({ keepData: true })));
    const db = workers[0]!.running.deps.db;
    const rows = await waitFor(
      async () => {
        const done = await db('backups').where({ kind: 'daily', status: 'succeeded' }).select('tick_key');
        return done.length >= 3 ? done : undefined;
      },
      { timeoutMs: 30_000, what: 'three scheduled backups' },
    );
    // Both replicas fired every tick: one job per tick reached the queue, and no job
    // found its tick already taken (which would mean the replicas named ticks differently).
    const jobs = (await workers[0]!.running.deps.queues.backups.getJobs(['completed', 'failed'])).filter(
      (j) => j.name === 'backup.run' && j.data.kind === 'daily',
    );
    for (const w of workers) await w.running.shutdown.run('test done');
    const check = createDb({ url: database.url, poolMin: 0, poolMax: 1, statementTimeoutMs: 5000 });
    const ticks: { tick_key: string }[] = await check('backups').where({ kind: 'daily' }).select('tick_key');
    await check.destroy();
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(ticks.every((t) => /^daily:\d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\.000Z$/.test(t.tick_key))).toBe(true);
    const jobTicks = jobs.map((j) => j.data.tick as string);
    expect(new Set(jobTicks).size).toBe(jobTicks.length);
    expect(jobs.filter((j) => j.returnvalue && 'skipped' in j.returnvalue)).toEqual([]);
    // Every finished job made the backup row of its tick.
    expect(jobTicks.every((tick) => ticks.some((t) => t.tick_key === tick))).toBe(true);
  });

  it('retention removes only expired backups, from every target, and always keeps the newest three good ones', async () => {
    const s3 = await startS3();
    cleanups.push(() => s3.stop());
    const uvis = await startWithBackups({ BACKUP_TARGETS: 'local,s3', BACKUP_RETENTION_DAYS: '30', ...s3.env });
    const admin = await uvis.api.login();
    const { db } = uvis.running.deps;
    const fresh = await backupNow(uvis, admin);
    // Three successful backups past the retention period: the two newest stay (with the
    // fresh one they are the last three good copies), the oldest goes.
    const aged = [];
    for (const days of [31, 32, 33]) {
      const backup = await backupNow(uvis, admin);
      await db('backups')
        .where({ id: backup.id })
        .update({ started_at: db.raw(`now() - ?::interval`, [`${days} days`]) });
      aged.push(backup);
    }
    const [keptOld, keptOlder, expired] = aged as [typeof fresh, typeof fresh, typeof fresh];
    // A failed run past the period goes (it never counts as a good copy); a 40-day-old
    // run still marked running is not retention's to touch.
    await db('backups').insert({
      id: '22222222-2222-4222-8222-222222222222',
      kind: 'daily',
      status: 'failed',
      started_at: db.raw(`now() - interval '31 days'`),
    });
    await db('backups').insert({
      id: '11111111-1111-4111-8111-111111111111',
      kind: 'daily',
      status: 'running',
      started_at: db.raw(`now() - interval '40 days'`),
    });
    const job = await uvis.running.deps.queues.backups.add('backup.retention', {});
    await waitFor(async () => (await uvis.running.deps.queues.backups.getJobState(job.id!)) === 'completed', { what: 'retention' });
    const statuses = Object.fromEntries((await db('backups').select('id', 'status')).map((r) => [r.id, r.status]));
    expect(statuses).toEqual({
      [fresh.id]: 'succeeded',
      [keptOld.id]: 'succeeded',
      [keptOlder.id]: 'succeeded',
      [expired.id]: 'expired',
      '22222222-2222-4222-8222-222222222222': 'expired',
      '11111111-1111-4111-8111-111111111111': 'running',
    });
    expect(existsSync(join(uvis.config.backup.dir, expired.location))).toBe(false);
    for (const kept of [fresh, keptOld, keptOlder]) expect(existsSync(join(uvis.config.backup.dir, kept.location))).toBe(true);
    const keys = await s3.keys();
    expect(keys).toContain(`test/${keptOlder.location}`);
    expect(keys).not.toContain(`test/${expired.location}`);
  });

  it('retention also keeps the newest verified and the newest files backup, however old; failed verifications do not count', async () => {
    const uvis = await startWithBackups({ BACKUP_RETENTION_DAYS: '30' });
    const admin = await uvis.api.login();
    const { db } = uvis.running.deps;
    const age = async (backup: { id: string }, days: number, extra: Record<string, unknown> = {}) =>
      db('backups')
        .where({ id: backup.id })
        .update({ started_at: db.raw(`now() - ?::interval`, [`${days} days`]), ...extra });
    // The three newest backups are known to be broken.
    const broken = [await backupNow(uvis, admin), await backupNow(uvis, admin), await backupNow(uvis, admin)];
    for (const b of broken)
      await db('backups').where({ id: b.id }).update({ verification_status: 'failed', verification_error: 'orders: manifest 9, restored 3' });
    const [d1, d2, d3, passed, d4] = [
      await backupNow(uvis, admin),
      await backupNow(uvis, admin),
      await backupNow(uvis, admin),
      await backupNow(uvis, admin),
      await backupNow(uvis, admin),
    ];
    const weekly = await backupNow(uvis, admin, 'weekly');
    const oldest = await backupNow(uvis, admin);
    await age(d1!, 31);
    await age(d2!, 32);
    await age(d3!, 33);
    await age(passed!, 34, { verification_status: 'passed' });
    await age(d4!, 35);
    await age(weekly, 45);
    await age(oldest, 50);
    // `restore latest` skips backups that failed verification.
    expect((await latestGoodBackup(db))!.id).toBe(d1!.id);
    const job = await uvis.running.deps.queues.backups.add('backup.retention', {});
    await waitFor(async () => (await uvis.running.deps.queues.backups.getJobState(job.id!)) === 'completed', { what: 'retention' });
    const statuses = Object.fromEntries((await db('backups').select('id', 'status')).map((r) => [r.id, r.status]));
    const expected = Object.fromEntries([...broken, d1!, d2!, d3!, passed!, weekly].map((b) => [b.id, 'succeeded']));
    expect(statuses).toEqual({ ...expected, [d4!.id]: 'expired', [oldest.id]: 'expired' });
    expect(existsSync(join(uvis.config.backup.dir, weekly.files_location))).toBe(true);
  });

  it('verification restores the newest backup into a scratch database, compares counts, records the result and drops it', async () => {
    const uvis = await startWithBackups();
    const admin = await uvis.api.login();
    const backup = await backupNow(uvis, admin);
    const queue = uvis.running.deps.queues.backups;
    const ok = await queue.add('backup.verify', {});
    await waitFor(async () => (await queue.getJobState(ok.id!)) === 'completed', { timeoutMs: 30_000, what: 'verification' });
    const verified = (await uvis.api.get(`/api/v1/admin/backups/${backup.id}`, admin)).body;
    expect(verified).toMatchObject({ verification_status: 'passed', verification_error: null });
    const metrics = parseMetrics(await (await fetch(`${uvis.baseUrl}/metrics`)).text());
    expect(total(metrics, 'uvis_backup_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(total(metrics, 'uvis_backup_last_verification_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);

    // A manifest that does not match what the dump holds fails verification, with the reason.
    await uvis.running.deps
      .db('backups')
      .where({ id: backup.id })
      .update({ table_counts: JSON.stringify({ ...backup.table_counts, orders: 999 }) });
    const bad = await queue.add('backup.verify', {});
    // The job fails at once (no retry: the same dump fails the same way), with the reason, for Bull Board and the failure metrics.
    await waitFor(async () => (await queue.getJobState(bad.id!)) === 'failed', { timeoutMs: 30_000, what: 'second verification' });
    const badJob = (await queue.getJob(bad.id!))!;
    expect(badJob.attemptsMade).toBe(1);
    expect(badJob.failedReason).toMatch(new RegExp(`backup ${backup.id} failed verification: orders: manifest 999, restored \\d+`));
    const failed = (await uvis.api.get(`/api/v1/admin/backups/${backup.id}`, admin)).body;
    expect(failed.verification_status).toBe('failed');
    expect(failed.verification_error).toMatch(/orders: manifest 999, restored \d+/);
    // Its own scratch databases (other test files verify backups in parallel on this server).
    const scratch = await withAdminClient((c) =>
      c.query(`select datname from pg_database where starts_with(datname, $1)`, [`uvis_verify_${ownerTag(uvis.config.databaseUrl)}_`]),
    );
    expect(scratch.rows).toEqual([]);
  });
});

describe('admin backup API', () => {
  let uvis: TestUvis;
  let admin: string;
  let backup: { id: string; sha256: string; size_bytes: number; location: string };
  beforeAll(async () => {
    uvis = await startWithBackups();
    admin = await uvis.api.login();
    backup = await backupNow(uvis, admin);
  });

  it('lists and downloads backups for admins', async () => {
    const list = await uvis.api.get('/api/v1/admin/backups', admin);
    expect(list.body.items.map((b: { id: string }) => b.id)).toContain(backup.id);
    const res = await fetch(`${uvis.baseUrl}/api/v1/admin/backups/${backup.id}/download`, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`uvis-manual-${backup.id}.dump`);
    expect(res.headers.get('x-backup-sha256')).toBe(backup.sha256);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(backup.size_bytes);
    expect(body.equals(readFileSync(join(uvis.config.backup.dir, backup.location)))).toBe(true);
  });

  it('a client that drops a download mid-way frees the file at once, and the API carries on', async () => {
    const { db } = uvis.running.deps;
    // A file far larger than the socket buffers, so the download is still streaming when the client leaves.
    const big = { id: '33333333-3333-4333-8333-333333333333', location: 'big/uvis-big.dump' };
    const path = join(uvis.config.backup.dir, big.location);
    mkdirSync(join(uvis.config.backup.dir, 'big'), { recursive: true });
    writeFileSync(path, Buffer.alloc(64 * 1024 * 1024, 7));
    await db('backups').insert({ ...big, kind: 'manual', status: 'succeeded', targets: ['local'], sha256: 'x', size_bytes: 64 * 1024 * 1024 });
    const openOnBigFile = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path;
        } catch {
          return false; // closed between the listing and the readlink
        }
      }).length;

    const abort = new AbortController();
    const res = await fetch(`${uvis.baseUrl}/api/v1/admin/backups/${big.id}/download`, { headers: { authorization: `Bearer ${admin}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(openOnBigFile()).toBe(1);
    abort.abort();
    await reader.read().catch(() => {});
    // The API process (this one) must close its read stream, not leave it paused forever.
    await waitFor(async () => openOnBigFile() === 0 || undefined, { timeoutMs: 5_000, what: 'read stream closed after the client left' });
    expect((await uvis.api.get('/api/v1/admin/backups', admin)).status).toBe(200);
  });

  it('refuses non-admins on every backup route', async () => {
    const dispatcher = await uvis.api.login(DEMO_DISPATCHER);
    const driver = await uvis.api.login(DEMO_DRIVER2);
    for (const token of [dispatcher, driver, undefined]) {
      const expected = token ? 403 : 401;
      expect((await uvis.api.get('/api/v1/admin/backups', token)).status).toBe(expected);
      expect((await uvis.api.post('/api/v1/admin/backups', undefined, token)).status).toBe(expected);
      expect((await uvis.api.get(`/api/v1/admin/backups/${backup.id}`, token)).status).toBe(expected);
      expect((await uvis.api.get(`/api/v1/admin/backups/${backup.id}/download`, token)).status).toBe(expected);
    }
  });

  it('a download cannot reach any file outside the backup folder', async () => {
    const { db } = uvis.running.deps;
    const secret = join(tmpdir(), `uvis-secret-${Date.now()}.txt`);
    writeFileSync(secret, 'not a backup');
    removeAfter(secret);
    const forged = '22222222-2222-4222-8222-222222222222';
    // Even a manifest row pointing outside the folder (tampered database) is refused.
    await db('backups').insert({
      id: forged,
      kind: 'manual',
      status: 'succeeded',
      location: `../../../../../../..${secret}`,
      targets: ['local'],
      sha256: 'x',
      size_bytes: 12,
    });
    const res = await uvis.api.get(`/api/v1/admin/backups/${forged}/download`, admin);
    expect(res.status).toBe(404);
    expect(res.text).not.toContain('not a backup');
    for (const path of ['..%2F..%2Fetc%2Fpasswd', '..', 'latest', `${backup.id}%2F..%2F..%2Fetc%2Fpasswd`]) {
      const attempt = await uvis.api.get(`/api/v1/admin/backups/${path}/download`, admin);
      expect([400, 404]).toContain(attempt.status);
      expect(attempt.text).not.toContain('root:');
    }
  });
});
