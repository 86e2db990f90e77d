/**
 * Webhook signing secrets and signatures (Standard Webhooks v1, DESIGN.md "Shippers").
 *
 * A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded bytes. HMAC is
 * symmetric, so the secret cannot be stored as a hash like API keys: we must hold it to sign.
 * It is stored encrypted with AES-256-GCM under WEBHOOK_SECRET_KEY, which lives in the
 * environment, never in the database: a dump alone (a stolen backup) cannot forge a signature.
 * GCM also authenticates: a ciphertext edited in the database fails to decrypt instead of
 * signing with a key an attacker chose. docs/security.md says more.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

const WEBHOOK_SECRET_PREFIX = 'whsec_';
const FORMAT = 'v1';
// Binds ciphertexts to their purpose: one encrypted for something else under the same key does not decrypt here.
const AAD = Buffer.from('uvis webhook signing secret');

export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The 32-byte AES key from WEBHOOK_SECRET_KEY: base64 or hex of exactly 32 bytes (lib/config.ts checks it). */
export function parseEncryptionKey(text: string): Buffer | undefined {
  const candidates = [/^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined, Buffer.from(text, 'base64')];
  return candidates.find((b) => b?.length === 32);
}

/** A key for development and tests only (config refuses to run production without WEBHOOK_SECRET_KEY). */
export const DEVELOPMENT_ENCRYPTION_KEY = createHash('sha256').update('uvis-development-webhook-key-do-not-use-in-production').digest();

export function encryptSecret(key: Buffer, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
}

export function decryptSecret(key: Buffer, stored: string): string {
  const [format, iv, tag, body] = stored.split(':');
  if (format !== FORMAT || !iv || !tag || body === undefined) throw new Error('webhook secret: unknown storage format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(AAD);
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
}

/**
 * Decrypts with the current key, or with the previous one while WEBHOOK_SECRET_KEY is being
 * rotated (WEBHOOK_SECRET_KEY_PREVIOUS): secrets not yet re-encrypted keep signing.
 */
export function decryptSecretWithKeys(keys: { current: Buffer; previous?: Buffer }, stored: string): string {
  try {
    return decryptSecret(keys.current, stored);
  } catch (err) {
    if (!keys.previous) throw err;
    return decryptSecret(keys.previous, stored);
  }
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the bytes after whsec_. */
export function signature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The three Standard Webhooks headers; several secrets (a rotation's overlap) give space-separated signatures. */
export function signedHeaders(secrets: readonly string[], id: string, body: string, now: Date = new Date()): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => signature(s, id, timestamp, body)).join(' '),
  };
}
