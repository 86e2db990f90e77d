/**
 * Webhook events: the types a shipper can subscribe to (defined in webhook-event-names.ts, which
 * the dashboard's bundle reads too, and re-exported here), their schema, the delivery schedule
 * and the rules around it.
 */
import { z } from 'zod';
import { WEBHOOK_EVENT_NAMES } from './webhook-event-names.js';

export { ALL_EVENTS, WEBHOOK_EVENT_NAMES, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhook-event-names.js';
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_NAMES);

/**
 * The delivery schedule: WEBHOOK_RETRY_SCHEDULE, the waits after each failed attempt. The first
 * attempt is immediate, so there are schedule.length + 1 attempts in all.
 */
export function retryDelayMs(schedule: readonly number[], attemptsMade: number, random: () => number = Math.random): number | undefined {
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return undefined;
  // ±10 %: endpoints that failed together (an outage on their side) do not all come back at once.
  return Math.round(base * (0.9 + random() * 0.2));
}

/** How long an endpoint may keep failing before it is disabled and an operator alerted. */
export const AUTO_DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;

/** How long the previous secret keeps signing after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;
