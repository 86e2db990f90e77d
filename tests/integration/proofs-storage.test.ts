/**
 * Where proof images live (issue 17): through the backups' storage targets, a local folder or an
 * S3 bucket (s3rver, a real S3-compatible server started here); the weekly backup carries them and a
 * restore with --files brings them back, for both; retention (PROOF_RETENTION_DAYS) removes old ones,
 * image and row, in the maintenance job.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { waitFor } from '../helpers/api-client.js';
import { dispatchWithDriver, filesBelow, phoneJpeg, sha256, signaturePng, uploadProof } from '../helpers/proofs.js';
import { startS3, type TestS3 } from '../helpers/s3-server.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { Webhook } from 'standardwebhooks';
import { useScratch } from '../helpers/scratch.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

const execFileAsync = promisify(execFile);
const { tempDir, cleanups } = useScratch();

async function start(env: Record<string, string> = {}): Promise<TestUvis> {
  const uvis = await startTestUvis({ role: 'all', env: { BACKUP_DIR: tempDir('proof-backups'), UPLOADS_DIR: tempDir('proof-uploads'), ...env } });
  cleanups.push(() => uvis.stop());
  return uvis;
}

function s3Client(s3: TestS3): S3Client {
  return new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}

async function s3Bytes(s3: TestS3, key: string): Promise<Uint8Array> {
  const got = await s3Client(s3).send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return got.Body!.transformToByteArray();
}

async function weeklyBackup(uvis: TestUvis, admin: string) {
  const jobId = (await uvis.running.deps.queues.backups.add('backup.run', { kind: 'weekly' })).id!;
  const job = await waitFor(
    async () => {
      const status = (await uvis.api.get(`/api/v1/jobs/backups/${jobId}`, admin)).body;
      return status.state === 'completed' || status.state === 'failed' ? status : undefined;
    },
    { timeoutMs: 30_000, what: 'weekly backup' },
  );
  expect(job.state, job.failed_reason).toBe('completed');
  const backup = (await uvis.api.get(`/api/v1/admin/backups/${job.result.backupId}`, admin)).body;
  expect(backup).toMatchObject({ status: 'succeeded', kind: 'weekly' });
  return backup as { id: string; files_location: string };
}

/** The restore command as an operator runs it. */
async function restore(uvis: TestUvis, args: string[], env: Record<string, string>) {
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
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const archiveListing = async (file: string) => (await execFileAsync('tar', ['-tzf', file])).stdout.split('\n').filter(Boolean);

describe('the local target', () => {
  it('keeps proofs in UPLOADS_DIR/proofs; the weekly backup carries them (not uploads in progress) and a restore brings them back', async () => {
    const uvis = await start();
    const admin = await uvis.api.login();
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const uploaded = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, await phoneJpeg());
    expect(uploaded.status, uploaded.text).toBe(201);
    const { storage_key: key } = await uvis.running.deps.db('proofs').where({ id: uploaded.body.id }).first();
    expect(key).toMatch(/^proofs\/\d{4}\/\d{2}\/[0-9a-f-]{36}\.jpg$/);
    const uploadsDir = uvis.config.backup.uploadsDir;
    expect(sha256(readFileSync(join(uploadsDir, key)))).toBe(uploaded.body.sha256);
    // An upload in progress (as a crash would leave it) is not archived.
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(uploadsDir, '.incoming'), { recursive: true });
    writeFileSync(join(uploadsDir, '.incoming', 'half.upload'), 'half an upload');

    const backup = await weeklyBackup(uvis, admin);
    const listing = await archiveListing(join(uvis.config.backup.dir, backup.files_location));
    expect(listing).toContain(`./${key}`);
    expect(listing.filter((name) => name.includes('.incoming'))).toEqual([]);

    await uvis.running.shutdown.run('restore');
    const fresh = tempDir('proof-restored');
    const restored = await restore(uvis, [backup.id, '--yes', '--files'], { UPLOADS_DIR: fresh });
    expect(restored.code, restored.stderr).toBe(0);
    expect(sha256(readFileSync(join(fresh, key)))).toBe(uploaded.body.sha256);
  });
});

describe('the S3 target', () => {
  it('stores proofs in the bucket only (no local copy), serves them, and backs them up and restores them into the bucket', async () => {
    const s3 = await startS3('uvis-proofs');
    cleanups.push(() => s3.stop());
    const env = { PROOF_STORAGE: 's3', ...s3.env };
    const uvis = await start(env);
    const admin = await uvis.api.login();
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const photo = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'photo' }, await phoneJpeg());
    expect(photo.status, photo.text).toBe(201);
    const signature = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature' }, await signaturePng(), { type: 'image/png' });
    expect(signature.status, signature.text).toBe(201);
    const rows: { id: number; storage_key: string; sha256: string }[] = await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId }).orderBy('id');
    const objectKeys = rows.map((r) => `test/${r.storage_key}`);
    expect((await s3.keys()).filter((k) => k.startsWith('test/proofs/'))).toEqual(objectKeys.sort());
    for (const row of rows) expect(sha256(await s3Bytes(s3, `test/${row.storage_key}`))).toBe(row.sha256);
    // Nothing of them on the API's disk.
    expect(filesBelow(uvis.config.backup.uploadsDir)).toEqual([]);
    const served = await fetch(`${uvis.baseUrl}/api/v1/proofs/${photo.body.id}/file`, { headers: { authorization: `Bearer ${admin}` } });
    expect(served.status).toBe(200);
    expect(sha256(new Uint8Array(await served.arrayBuffer()))).toBe(photo.body.sha256);

    const backup = await weeklyBackup(uvis, admin);
    const listing = await archiveListing(join(uvis.config.backup.dir, backup.files_location));
    for (const row of rows) expect(listing).toContain(row.storage_key);

    // The bucket loses them; a restore with --files puts them back.
    await uvis.running.shutdown.run('restore');
    for (const key of objectKeys) await s3Client(s3).send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect((await s3.keys()).filter((k) => k.startsWith('test/proofs/'))).toEqual([]);
    const restored = await restore(uvis, [backup.id, '--yes', '--files'], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('2 proof images back into the proof storage (s3)');
    for (const row of rows) expect(sha256(await s3Bytes(s3, `test/${row.storage_key}`))).toBe(row.sha256);
    // Not kept twice: the local copies the archive brought are gone again.
    expect(filesBelow(join(uvis.config.backup.uploadsDir, 'proofs'))).toEqual([]);
  });
});

describe('an unreachable storage', () => {
  it('answers 503 (retry) and records nothing', async () => {
    // Port 9 (discard) on loopback: nothing listens, so every connection is refused at once.
    const uvis = await start({
      PROOF_STORAGE: 's3',
      BACKUP_S3_ENDPOINT: 'http://127.0.0.1:9',
      BACKUP_S3_BUCKET: 'gone',
      BACKUP_S3_ACCESS_KEY_ID: 'x',
      BACKUP_S3_SECRET_ACCESS_KEY: 'y',
    });
    const admin = await uvis.api.login();
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const res = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature' }, await signaturePng(), { type: 'image/png' });
    expect(res.status, res.text).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(res.body.error.details).toEqual({ dependency: 'storage' });
    expect(await uvis.running.deps.db('proofs').where({ dispatch_id: dispatchId })).toEqual([]);
    expect(filesBelow(uvis.config.backup.uploadsDir)).toEqual([]);
  });
});

describe('the shipper hears of it', () => {
  it('delivers proof.added, signed, to an endpoint subscribed to it, and the image is theirs to fetch with their key', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const uvis = await start({ OUTBOX_POLL_MS: '100' });
    const admin = await uvis.api.login();
    const client = await uvis.api.post('/api/v1/clients', { name: '증빙상사' }, admin);
    const key = await uvis.api.post('/api/v1/admin/api-keys', { name: '증빙 연동', role: 'shipper', client_id: client.body.id }, admin);
    const endpoint = await uvis.api.request('POST', '/api/v1/webhooks/endpoints', {
      headers: { 'x-api-key': key.body.key },
      json: { url: receiver.url('/pod'), events: ['proof.added'] },
    });
    expect(endpoint.status, endpoint.text).toBe(201);
    const { dispatchId, orderId, driver } = await dispatchWithDriver(uvis.api, admin, { client_id: client.body.id });
    const proof = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature', recipient_name: '김수령' }, await signaturePng(), {
      type: 'image/png',
    });
    expect(proof.status, proof.text).toBe(201);

    const [delivery] = await waitFor(async () => (receiver.received('/pod').length ? receiver.received('/pod') : undefined), { what: 'proof.added delivery' });
    const event = new Webhook(endpoint.body.secret).verify(delivery!.body, delivery!.headers) as { type: string; data: Record<string, unknown> };
    expect(event.type).toBe('proof.added');
    expect(event.data).toMatchObject({
      proof_id: proof.body.id,
      dispatch_id: dispatchId,
      order_id: orderId,
      kind: 'signature',
      recipient_name: '김수령',
      sha256: proof.body.sha256,
    });
    const image = await fetch(`${uvis.baseUrl}${event.data.file_url}`, { headers: { 'x-api-key': key.body.key } });
    expect(image.status).toBe(200);
    expect(sha256(new Uint8Array(await image.arrayBuffer()))).toBe(proof.body.sha256);
  });
});

describe('retention', () => {
  it('the maintenance job removes proofs older than PROOF_RETENTION_DAYS, image and row, and keeps the rest', async () => {
    const uvis = await start({ PROOF_RETENTION_DAYS: '30' });
    const admin = await uvis.api.login();
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, admin);
    const png = await signaturePng();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await uploadProof(uvis.api, driver.token, dispatchId, { kind: 'signature' }, png, { type: 'image/png' });
      expect(res.status, res.text).toBe(201);
      ids.push(res.body.id);
    }
    const { db } = uvis.running.deps;
    await db('proofs')
      .whereIn('id', ids.slice(0, 2))
      .update({ created_at: new Date(Date.now() - 31 * 86_400_000) });
    const keys: Record<number, string> = Object.fromEntries(
      (await db('proofs').whereIn('id', ids).select('id', 'storage_key')).map((r) => [r.id, r.storage_key]),
    );

    const queue = uvis.running.deps.queues.maintenance;
    const job = await queue.add('maintenance.cleanup', {});
    await waitFor(async () => (await queue.getJobState(job.id!)) === 'completed', { timeoutMs: 20_000, what: 'maintenance' });
    expect((await queue.getJob(job.id!))!.returnvalue).toMatchObject({ proofs: 2 });
    expect(await db('proofs').whereIn('id', ids).pluck('id')).toEqual([ids[2]]);
    const left = filesBelow(uvis.config.backup.uploadsDir).map((f) => f.split('\\').join('/'));
    expect(left).toEqual([keys[ids[2]!]]);
    expect((await uvis.api.get(`/api/v1/proofs/${ids[0]}/file`, admin)).status).toBe(404);
  });
});
