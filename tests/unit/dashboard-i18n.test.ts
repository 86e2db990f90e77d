/**
 * The dashboard's labels (dashboard/web/src/i18n.ts): every label in Korean and English, none
 * empty, the same {placeholders} in both; and a label for every value the API can send where
 * the page builds a key from it (webhook event types, delivery statuses and outcomes, the reason
 * an endpoint was disabled), so a new value cannot reach the page as a bare code. The type of
 * the English table already makes a missing key a compile error; this also covers the keys
 * built at run time.
 */
import { describe, expect, it } from 'vitest';
import { Attempt, Endpoint } from '../../api/schemas/webhooks.js';
import { WEBHOOK_EVENT_NAMES } from '../../domain/webhook-events.js';

// Imported by a computed name: i18n.ts uses DOM types that the root tsconfig (Node code) leaves
// out, so tsc must not follow it; the page's own type check covers that file.
const I18N = '../../dashboard/web/src/i18n.js';
const { labelTables } = (await import(/* @vite-ignore */ I18N)) as { labelTables: Record<'ko' | 'en', Record<string, string>> };
const { ko, en } = labelTables as { ko: Record<string, string>; en: Record<string, string> };
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dashboard labels', () => {
  it('has every label in both languages, none empty, with the same placeholders', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ko).sort());
    for (const [key, text] of Object.entries(ko)) {
      const english = en[key]!;
      expect(text.trim(), `ko ${key}`).not.toBe('');
      expect(english.trim(), `en ${key}`).not.toBe('');
      expect(placeholders(english), key).toEqual(placeholders(text));
    }
  });

  it('labels every webhook value the webhooks panel turns into a key', () => {
    const keys = [
      ...WEBHOOK_EVENT_NAMES.map((name) => `whevent.${name}`),
      ...Attempt.shape.delivery_status.options.map((s) => `whstatus.${s}`),
      ...Attempt.shape.outcome.options.map((o) => `whoutcome.${o}`),
      ...Endpoint.shape.disabled_reason.unwrap().options.map((r) => `whreason.${r}`),
    ];
    expect(keys.length).toBeGreaterThan(15);
    const missing = keys.filter((key) => !(key in ko) || !(key in en));
    expect(missing).toEqual([]);
  });
});
