/**
 * The event types a shipper can subscribe to (DESIGN.md "Shippers"), each defined once here:
 * its name and what it means. Adding one is one line below and a call to announceWebhook
 * (use-cases/announce.ts) where the change is written; subscription checks, the API's enum,
 * the docs' table and the dashboard's webhooks panel read this list.
 *
 * Free of imports (no zod), so the browser bundle of the dashboard can read it too;
 * domain/webhook-events.ts re-exports it beside the schema and the delivery rules.
 */
export const WEBHOOK_EVENT_TYPES = {
  'order.created': 'An order was created',
  'order.status_changed': "An order's status changed (PENDING, ASSIGNED, IN_TRANSIT, COMPLETED, CANCELLED)",
  'dispatch.assigned': 'An order was assigned to a vehicle and driver',
  'dispatch.status_changed': "A dispatch's status changed (ACCEPTED, PICKED_UP, IN_TRANSIT, DELIVERED, COMPLETED, CANCELLED, FAILED)",
  'dispatch.arrived': "The vehicle arrived at the order's pickup or drop-off (a geofence; it changes no status by itself)",
  'dispatch.departed': "The vehicle left the order's pickup or drop-off (a geofence)",
  'temperature.excursion_opened': 'A load left its temperature range long enough to open an excursion (or its logger fell silent)',
  'temperature.excursion_closed': 'An excursion closed: readings were back in range long enough',
  'proof.added': 'The driver added a proof of delivery (a photo or a signature) to a dispatch',
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;
export const WEBHOOK_EVENT_NAMES = Object.keys(WEBHOOK_EVENT_TYPES) as [WebhookEventType, ...WebhookEventType[]];

/** Subscribes an endpoint to every type, present and future. */
export const ALL_EVENTS = '*';
