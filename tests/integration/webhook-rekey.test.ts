/**
 * Rotating WEBHOOK_SECRET_KEY: while both keys are configured a delivery signs with secrets under
 * either; `npm run webhooks:rekey` (run as a real process against a real database) re-encrypts
 * every stored secret, the rotation's previous one included, under the new key, runs again
 * without changing anything, and names a secret neither key reads (exit code 3) without touching it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../db/knex.js';
import { migrateLatest } from '../../db/migrate.js';
import { projectPath } from '../../lib/paths.js';
import { decryptSecret, decryptSecretWithKeys, encryptSecret, newWebhookSecret } from '../../lib/webhook-secrets.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const run = promisify(execFile);
const OLD = randomBytes(32);
const NEW = randomBytes(32);
const OTHER = randomBytes(32);
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 30_000 });
  await migrateLatest(db);
});
afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

const rekey = (env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', projectPath('scripts', 'webhooks-rekey.ts')], {
    cwd: projectPath(),
    env: { ...process.env, NODE_ENV: 'development', DATABASE_URL: database.url, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

async function endpoint(secret: string, key: Buffer, previous?: { secret: string; key: Buffer }) {
  const [row] = await db('webhook_endpoints')
    .insert({
      url: 'https://shipper.example.com/hooks',
      events: ['*'],
      secret_enc: encryptSecret(key, secret),
      previous_secret_enc: previous ? encryptSecret(previous.key, previous.secret) : null,
      previous_secret_expires_at: previous ? new Date(Date.now() + 3_600_000) : null,
    })
    .returning('*');
  return row as { id: number; secret_enc: string; previous_secret_enc: string | null };
}

describe('rotating WEBHOOK_SECRET_KEY', () => {
  it('re-encrypts every secret under the new key, again changes nothing, and names one neither key reads', async () => {
    const [a, b, c, d] = [newWebhookSecret(), newWebhookSecret(), newWebhookSecret(), newWebhookSecret()];
    const underOld = await endpoint(a, OLD, { secret: b, key: OLD });
    const underNew = await endpoint(c, NEW);
    // Meanwhile, deliveries read both with both keys configured.
    expect(decryptSecretWithKeys({ current: NEW, previous: OLD }, underOld.secret_enc)).toBe(a);
    expect(decryptSecretWithKeys({ current: NEW, previous: OLD }, underNew.secret_enc)).toBe(c);
    expect(() => decryptSecretWithKeys({ current: NEW }, underOld.secret_enc)).toThrow();

    const env = { WEBHOOK_SECRET_KEY: NEW.toString('base64'), WEBHOOK_SECRET_KEY_PREVIOUS: OLD.toString('base64') };
    const first = await rekey(env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('checked 2 endpoints; re-encrypted 1 under the new key');
    const rows = await db('webhook_endpoints').orderBy('id');
    expect(decryptSecret(NEW, rows[0].secret_enc)).toBe(a);
    expect(decryptSecret(NEW, rows[0].previous_secret_enc)).toBe(b);
    expect(rows[1].secret_enc).toBe(underNew.secret_enc); // already under the new key: untouched

    const again = await rekey(env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('re-encrypted 0 under the new key');
    expect((await db('webhook_endpoints').orderBy('id')).map((r) => r.secret_enc)).toEqual(rows.map((r) => r.secret_enc));

    const stray = await endpoint(d, OTHER);
    const refused = await rekey(env);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`endpoints ${stray.id} have a secret neither key decrypts`);
    expect((await db('webhook_endpoints').where({ id: stray.id }).first()).secret_enc).toBe(stray.secret_enc);
  });

  it('refuses to run without the previous key (exit code 2) and changes nothing', async () => {
    const before = await db('webhook_endpoints').orderBy('id').select('secret_enc');
    const res = await rekey({ WEBHOOK_SECRET_KEY: NEW.toString('base64') });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('WEBHOOK_SECRET_KEY_PREVIOUS');
    expect(await db('webhook_endpoints').orderBy('id').select('secret_enc')).toEqual(before);
  });
});
