/**
 * The events a write announces through the transactional outbox, each defined once:
 * the queue and job that process it and the payload's shape. Use-cases write them
 * (db/outbox.ts writeEvent checks the payload), the queue's definition (jobs/<queue>.ts)
 * reads them, so the writer and the processor cannot drift apart.
 */
import { z } from 'zod';
import { DISPATCH_STATUSES } from './dispatch-status.js';
import { GEOFENCE_SITES } from './geofences.js';
import { WebhookEventTypeSchema } from './webhook-events.js';

export interface OutboxEvent<P extends z.ZodObject = z.ZodObject> {
  queue: string;
  job: string;
  payload: P;
}

function outboxEvent<const Q extends string, const J extends string, P extends z.ZodObject>(queue: Q, job: J, payload: P) {
  return { queue, job, payload };
}

/** What the outbox relay adds to every payload: the row's id and its never-reused key. */
export const RelayedFields = z.object({
  eventId: z.number().int().positive(),
  /** The outbox row's job_key: never reused, even after a restore. Absent on jobs queued before migration 0005. */
  eventKey: z.uuid().optional(),
});

export const ORDER_CHANGED = outboxEvent(
  'orders',
  'order.changed',
  z.object({
    orderId: z.number().int().positive(),
    change: z.enum(['created', 'updated', 'cancelled', 'status']),
  }),
);

export const DISPATCH_STATUS_CHANGED = outboxEvent(
  'dispatches',
  'dispatch.status_changed',
  z.object({
    dispatchId: z.number().int().positive(),
    orderId: z.number().int().positive(),
    driverId: z.number().int().positive(),
    vehicleId: z.number().int().positive(),
    from: z.enum(DISPATCH_STATUSES).nullable(),
    to: z.enum(DISPATCH_STATUSES),
    changedBy: z.number().int().positive().nullable(),
    changedAt: z.iso.datetime({ offset: true }),
    note: z.string().max(500).nullable(),
  }),
);

/**
 * A recorded geofence arrival or departure (domain/geofences.ts), written in the transaction that
 * stores it (use-cases/geofences.ts), once per stored event: a re-evaluation that finds the same
 * event writes nothing. Shippers receive them as webhooks of the same names.
 */
const GeofencePayload = z.object({
  geofenceEventId: z.number().int().positive(),
  dispatchId: z.number().int().positive(),
  orderId: z.number().int().positive(),
  driverId: z.number().int().positive(),
  vehicleId: z.number().int().positive(),
  site: z.enum(GEOFENCE_SITES),
  at: z.iso.datetime({ offset: true }),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  suggestedStatus: z.enum(DISPATCH_STATUSES).nullable(),
});
export const DISPATCH_ARRIVED = outboxEvent('dispatches', 'dispatch.arrived', GeofencePayload);
export const DISPATCH_DEPARTED = outboxEvent('dispatches', 'dispatch.departed', GeofencePayload);

/**
 * An event for shippers' webhooks (domain/webhook-events.ts), written in the change's own
 * transaction: `data` is the snapshot the shipper receives, taken when the change committed.
 * The webhooks queue fans it out to every subscribed endpoint; the outbox row's job key is
 * the event's identity (the `webhook-id` header), so a fan-out run twice delivers once.
 */
export const WEBHOOK_EVENT = outboxEvent(
  'webhooks',
  'webhook.event',
  z.object({
    type: WebhookEventTypeSchema,
    /** The client whose order the event concerns: only that client's endpoints and the unbound ones receive it. */
    clientId: z.number().int().positive().nullable(),
    occurredAt: z.iso.datetime({ offset: true }),
    data: z.record(z.string(), z.unknown()),
  }),
);

/** A manual retry of one delivery (POST /webhooks/deliveries/:id/retry), queued through the outbox like the rest. */
export const WEBHOOK_RETRY = outboxEvent(
  'webhooks',
  'webhook.deliver',
  z.object({ deliveryId: z.number().int().positive(), endpointId: z.number().int().positive() }),
);

export const OUTBOX_EVENTS: readonly OutboxEvent[] = [
  ORDER_CHANGED,
  DISPATCH_STATUS_CHANGED,
  DISPATCH_ARRIVED,
  DISPATCH_DEPARTED,
  WEBHOOK_EVENT,
  WEBHOOK_RETRY,
];
