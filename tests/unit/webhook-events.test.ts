/** Webhook rules without I/O: the retry schedule and its jitter, signatures, and secrets at rest. */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../domain/webhook-events.js';
import { parseRetrySchedule } from '../../lib/config.js';
import { DEVELOPMENT_ENCRYPTION_KEY, decryptSecret, encryptSecret, newWebhookSecret, signedHeaders } from '../../lib/webhook-secrets.js';

describe('webhook rules', () => {
  it('waits the schedule after each failure, ±10 %, and stops after the last wait', () => {
    const schedule = parseRetrySchedule('5s,5m,30m,2h,5h,10h,10h')!;
    expect(schedule).toEqual([5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(4500);
    expect(retryDelayMs(schedule, 1, () => 0.5)).toBe(5000);
    expect(retryDelayMs(schedule, 1, () => 0.999999)).toBe(5500);
    expect(retryDelayMs(schedule, 7, () => 0.5)).toBe(36_000_000);
    expect(retryDelayMs(schedule, 8)).toBeUndefined();
    const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(schedule, 2)));
    expect(spread.size).toBeGreaterThan(10);
    for (const d of spread) expect(Math.abs(d! - 300_000)).toBeLessThanOrEqual(30_000);
    expect(parseRetrySchedule('5s,,5m')).toBeUndefined();
    expect(parseRetrySchedule('')).toBeUndefined();
  });

  it('signs exactly as the standardwebhooks library does', () => {
    const secret = newWebhookSecret();
    const at = new Date('2026-11-29T03:20:00Z');
    const body = JSON.stringify({ type: 'order.created', timestamp: at.toISOString(), data: { order_id: 1, 주소: '서울시 강남구' } });
    const headers = signedHeaders([secret], 'msg_1', body, at);
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('msg_1', at, body));
  });

  it('encrypts secrets with authentication: another key or an edited ciphertext does not decrypt', () => {
    const secret = newWebhookSecret();
    const stored = encryptSecret(DEVELOPMENT_ENCRYPTION_KEY, secret);
    expect(stored).not.toContain(secret.slice(6));
    expect(decryptSecret(DEVELOPMENT_ENCRYPTION_KEY, stored)).toBe(secret);
    expect(encryptSecret(DEVELOPMENT_ENCRYPTION_KEY, secret)).not.toBe(stored);
    expect(() => decryptSecret(Buffer.alloc(32, 1), stored)).toThrow();
    const [v, iv, tag, body] = stored.split(':');
    const flipped = Buffer.from(body!, 'base64');
    flipped[0]! ^= 1;
    expect(() => decryptSecret(DEVELOPMENT_ENCRYPTION_KEY, [v, iv, tag, flipped.toString('base64')].join(':'))).toThrow();
  });
});
