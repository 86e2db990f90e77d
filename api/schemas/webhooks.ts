/** Webhook endpoints and their delivery log (api/routes/webhooks.ts). */
import { z } from 'zod';
import { ALL_EVENTS, WEBHOOK_EVENT_NAMES } from '../../domain/webhook-events.js';
import { BodyId, Cursor, FreeText, Limit } from './common.js';

const EventFilter = z
  .array(z.enum([...WEBHOOK_EVENT_NAMES, ALL_EVENTS]))
  .min(1)
  .max(50)
  .meta({ description: `Event types, or ["*"] for all (present and future): ${WEBHOOK_EVENT_NAMES.join(', ')}`, example: ['order.status_changed'] });

const Url = z
  .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
  .max(2000)
  .meta({ example: 'https://shipper.example.com/uvis/webhooks' });

export const EndpointCreate = z
  .strictObject({
    url: Url,
    events: EventFilter,
    description: FreeText({ max: 500, allowEmpty: true }).optional(),
    client_id: BodyId.nullable().optional().meta({ description: "Receive only this client's events; omitted or null: every client's" }),
  })
  .meta({ id: 'WebhookEndpointCreate' });

export const EndpointPatch = z
  .strictObject({
    url: Url.optional(),
    events: EventFilter.optional(),
    description: FreeText({ max: 500, allowEmpty: true }).nullable().optional(),
    enabled: z.boolean().optional().meta({ description: 'false disables; true re-enables (also one UVIS disabled) and forgets its failures' }),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'send at least one of url, events, description, enabled' })
  .meta({ id: 'WebhookEndpointPatch' });

export const Endpoint = z
  .object({
    id: z.number(),
    client_id: z.number().nullable(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabled_reason: z
      .enum(['manual', 'gone', 'failing'])
      .nullable()
      .meta({ description: 'manual (PATCH), gone (answered 410), failing (5 days of failures)' }),
    disabled_at: z.string().nullable(),
    failing_since: z.string().nullable().meta({ description: 'Start of the current run of failed attempts' }),
    previous_secret_expires_at: z.string().nullable().meta({ description: 'Until then the previous secret signs beside the current one' }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'WebhookEndpoint' });

export const EndpointWithSecret = Endpoint.extend({
  secret: z.string().meta({ description: 'whsec_ + base64 of 32 bytes; shown in this answer only', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
}).meta({ id: 'WebhookEndpointWithSecret' });

export const Attempt = z
  .object({
    id: z.number(),
    delivery_id: z.number(),
    webhook_id: z.string().meta({ description: 'The webhook-id header: the same on every attempt of the event' }),
    event_type: z.string(),
    delivery_status: z.enum(['PENDING', 'SUCCEEDED', 'FAILED', 'CANCELLED']),
    attempt: z.number(),
    started_at: z.string(),
    duration_ms: z.number(),
    status_code: z.number().nullable(),
    outcome: z.enum(['succeeded', 'retrying', 'failed', 'gone', 'refused']),
    error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
  })
  .meta({ id: 'WebhookAttempt' });

export const AttemptsQuery = z.strictObject({ limit: Limit, cursor: Cursor });

export const RetryAccepted = z.object({ delivery_id: z.number(), status: z.literal('PENDING') }).meta({ id: 'WebhookRetryAccepted' });
