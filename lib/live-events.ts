/**
 * Live events for dashboards, published on one Redis channel so every API replica
 * can forward them to its own browser connections. Fire-and-forget: a missed event
 * only delays a dashboard until its next refresh, it never loses data.
 */
import type { RedisClient } from './redis.js';
import type { Logger } from './logger.js';

export type LiveEvent =
  | { type: 'dispatch'; dispatch_id: number; order_id: number; driver_id: number; vehicle_id: number; from: string | null; to: string; at: string }
  | { type: 'order'; order_id: number; status: string; at: string }
  | {
      /** A temperature excursion appeared or changed status (opened, closed); use-cases/excursions.ts. */
      type: 'excursion';
      excursion_id: number;
      dispatch_id: number;
      vehicle_id: number;
      sensor: string;
      kind: 'HIGH' | 'LOW' | 'DATA_GAP';
      severity: 'WARNING' | 'CRITICAL';
      status: 'OPEN' | 'CLOSED';
      started_at: string;
      ended_at: string | null;
      at: string;
    }
  | {
      /** A geofence arrival or departure was recorded (use-cases/geofences.ts, relayed by the dispatches queue). */
      type: 'geofence';
      geofence_event_id: number;
      dispatch_id: number;
      order_id: number;
      driver_id: number;
      vehicle_id: number;
      site: 'PICKUP' | 'DROPOFF';
      kind: 'ARRIVED' | 'DEPARTED';
      at: string;
      latitude: number;
      longitude: number;
      suggested_status: string | null;
    }
  | {
      /**
       * A dispatch's latest reading, after a batch of readings for it was stored (jobs/temperature-events.ts):
       * one per dispatch per batch, never one per reading.
       */
      type: 'temperature';
      dispatch_id: number;
      vehicle_id: number;
      sensor: string;
      recorded_at: string;
      temperature_c: number;
      door_open: boolean | null;
      /** Against the order's limits (domain/temperature-profiles.ts classifyReading): a reading on a limit is in range. */
      in_range: boolean;
      at: string;
    }
  | {
      /** A proof of delivery (photo, signature) was added to a dispatch (api/routes/proofs.ts, after its commit). */
      type: 'proof';
      proof_id: number;
      dispatch_id: number;
      kind: 'photo' | 'signature';
      at: string;
    }
  | { type: 'positions'; positions: { driver_id: number; latitude: number; longitude: number; recorded_at: string }[] };

export function liveChannel(prefix: string): string {
  return `${prefix}:live`;
}

export class LivePublisher {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  publish(event: LiveEvent): void {
    this.redis.publish(liveChannel(this.prefix), JSON.stringify(event)).catch((err: unknown) => {
      this.log.debug({ err, type: event.type }, 'live event not published');
    });
  }
}
