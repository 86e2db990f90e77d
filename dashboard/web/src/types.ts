/** What the page reads from the API (the fields it uses). */

import type { LiveEvent } from '../../../lib/live-events.js';

export type Role = 'admin' | 'dispatcher' | 'driver';

export interface Session {
  user_id: number;
  email: string;
  role: Role;
}

export interface Order {
  id: number;
  client_id: number;
  pickup_address: string;
  delivery_address: string;
  cargo_type: string;
  weight: number;
  status: string;
  created_at: string;
}

/** GET /orders/:id/suggestions (api/schemas/dispatch-plans.ts Suggestions). */
export interface Suggestion {
  vehicle_id: number;
  driver_id: number;
  score: number;
  distance_km: number | null;
  terms: { distance: number; capacity_fit: number; reefer_readiness: number; fairness: number };
  details: { license_plate: string; driver_name: string; position: 'gps' | 'base' | null; assignments_today: number; temperature_c: number | null };
}

export interface SuggestionsResponse {
  order_id: number;
  items: Suggestion[];
  excluded: {
    vehicle_id: number | null;
    driver_id: number | null;
    license_plate: string | null;
    driver_name: string | null;
    reasons: { code: string; message: string; until?: string }[];
  }[];
}

/** POST /dispatch-plans (api/schemas/dispatch-plans.ts DispatchPlan). */
export interface DispatchPlan {
  id: number;
  expires_at: string;
  assignments: { order_id: number; vehicle_id: number; driver_id: number; score: number; distance_km: number | null }[];
  unassigned: { order_id: number; reasons: { code: string; message: string; pairs?: number }[] }[];
  total_score: number;
  stats: { greedy: { assigned: number; total_score: number } };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Client {
  id: number;
  name: string;
}

export interface Vehicle {
  id: number;
  license_plate: string;
  vehicle_type: string;
  cargo_classes: string[];
  capacity_kg: number;
}

export interface Driver {
  id: number;
  name: string;
  vehicle_id: number | null;
}

export interface HistoryEntry {
  from_status: string | null;
  to_status: string;
  changed_at: string;
  note: string | null;
}

export interface ActiveDispatch {
  id: number;
  status: string;
  order_id: number;
  vehicle_id: number;
  driver_id: number;
  created_at: string;
  order: { pickup_address: string; delivery_address: string; cargo_type: string; weight: number; status: string; client_id: number };
  license_plate: string;
  driver_name: string;
  history: HistoryEntry[];
  latest_reading: { temperature_c: number; recorded_at: string; sensor: string } | null;
  limits: DispatchLimits;
  excursions: { open: number; unresolved: number; total: number };
  proofs: ProofCounts;
}

export type ProofKind = 'photo' | 'signature';

/** A dispatch's proof of delivery at a glance: what its order requires, what is missing, how many of each exist. */
export interface ProofCounts {
  required: ProofKind[];
  missing: ProofKind[];
  photo: number;
  signature: number;
}

export interface Proof {
  id: number;
  dispatch_id: number;
  kind: ProofKind;
  content_type: string;
  width: number;
  height: number;
  recipient_name: string | null;
  note: string | null;
  created_at: string;
}

/** A dispatch's proofs, loaded when its proof section is opened; images as object URLs of the fetched files. */
export interface ProofsOfDispatch {
  items: Proof[];
  required: ProofKind[];
  missing: ProofKind[];
  images: Map<number, string>;
  error: unknown;
  loading: boolean;
}

/** The order's limits in °C; null is "no limit on that side", 0 is a limit. */
export interface DispatchLimits {
  source: 'ORDER' | 'PROFILE' | 'CARGO_CLASS';
  profile: string | null;
  label: string | null;
  label_en: string | null;
  min_c: number | null;
  max_c: number | null;
  critical_min_c: number | null;
  critical_max_c: number | null;
}

export interface TemperatureReading {
  sensor: string;
  recorded_at: string;
  temperature_c: number;
}

export interface ExcursionAction {
  action: string;
  note: string | null;
  by: unknown;
  at: string;
}

export interface Excursion {
  id: number;
  sensor: string;
  kind: 'HIGH' | 'LOW' | 'DATA_GAP';
  severity: 'WARNING' | 'CRITICAL';
  status: 'OPEN' | 'CLOSED';
  started_at: string;
  ended_at: string | null;
  duration_s: number;
  peak_c: number | null;
  peak_at: string | null;
  mean_c: number | null;
  readings: number;
  actions: ExcursionAction[];
}

/** A dispatch's readings and excursions, loaded when its temperature section is opened. */
export interface Telemetry {
  readings: TemperatureReading[];
  /** More readings exist than were loaded. */
  truncated: boolean;
  excursions: Excursion[];
  error: unknown;
  loading: boolean;
}

export interface VehiclePosition {
  vehicle_id: number;
  license_plate: string;
  vehicle_type: string;
  driver_id: number | null;
  driver_name: string | null;
  latitude: number | null;
  longitude: number | null;
  recorded_at: string | null;
}

export interface PositionsResponse {
  server_time: string;
  stale_after_seconds: number;
  items: VehiclePosition[];
}

export interface QueueCounts {
  name: string;
  waiting: number;
  active: number;
  failed: number;
  delayed: number;
  paused: boolean;
}

export interface QueuesResponse {
  at: string;
  queues: QueueCounts[];
}

export interface JobStatus {
  id: string;
  queue: string;
  name: string;
  state: string;
  attempts_made: number;
  attempts_allowed: number;
  result: unknown;
  failed_reason: string | null;
  created_at: string;
  processed_at: string | null;
  finished_at: string | null;
}

/**
 * Live events as the workers publish them: the server's own union (lib/live-events.ts), imported
 * as a type only, so the bundle takes none of that module's code and the two cannot drift apart.
 */
type LiveEventOf<T extends LiveEvent['type']> = Extract<LiveEvent, { type: T }>;
export type DispatchEvent = LiveEventOf<'dispatch'>;
export type OrderEvent = LiveEventOf<'order'>;
export type ExcursionEvent = LiveEventOf<'excursion'>;
/** A dispatch's latest reading after a stored batch (jobs/temperature-events.ts). */
export type TemperatureEvent = LiveEventOf<'temperature'>;
export type ProofEvent = LiveEventOf<'proof'>;
export type PositionsEvent = LiveEventOf<'positions'>;

/** A webhook endpoint as the API lists it (api/schemas/webhooks.ts Endpoint): never its secret. */
export interface WebhookEndpoint {
  id: number;
  client_id: number | null;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabled_reason: 'manual' | 'gone' | 'failing' | null;
  disabled_at: string | null;
  failing_since: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
}

/** The answer to a create or a secret rotation: the only time the secret is seen. */
export interface WebhookEndpointWithSecret extends WebhookEndpoint {
  secret: string;
}

/** One delivery attempt (api/schemas/webhooks.ts Attempt). */
export interface WebhookAttempt {
  id: number;
  delivery_id: number;
  webhook_id: string;
  event_type: string;
  delivery_status: 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  attempt: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  outcome: 'succeeded' | 'retrying' | 'failed' | 'gone' | 'refused';
  error: string | null;
  next_attempt_at: string | null;
}
