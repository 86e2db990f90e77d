/**
 * The event types a shipper can subscribe to (DESIGN.md "Shippers"), each defined once here:
 * its name and what it means. Adding one is one line below and a call to announceWebhook
 * (use-cases/announce.ts) where the change is written; subscription checks, the API's enum
 * and the docs' table read this list.
 */
import { z } from 'zod';

export const WEBHOOK_EVENT_TYPES = {
  'order.created': 'An order was created',
  'order.status_changed': "An order's status changed (PENDING, ASSIGNED, IN_TRANSIT, COMPLETED, CANCELLED)",
  'dispatch.assigned': 'An order was assigned to a vehicle and driver',
  'dispatch.status_changed': "A dispatch's status changed (ACCEPTED, PICKED_UP, IN_TRANSIT, DELIVERED, COMPLETED, CANCELLED, FAILED)",
  'dispatch.arrived': "The vehicle arrived at the order's pickup or drop-off (a geofence; it changes no status by itself)",
  'dispatch.departed': "The vehicle left the order's pickup or drop-off (a geofence)",
  'temperature.excursion_opened': 'A load left its temperature range long enough to open an excursion (or its logger fell silent)',
  'temperature.excursion_closed': 'An excursion closed: readings were back in range long enough',
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;
export const WEBHOOK_EVENT_NAMES = Object.keys(WEBHOOK_EVENT_TYPES) as [WebhookEventType, ...WebhookEventType[]];
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_NAMES);

/** Subscribes an endpoint to every type, present and future. */
export const ALL_EVENTS = '*';

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
