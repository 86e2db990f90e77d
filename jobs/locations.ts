/**
 * locations queue: GPS points posted by drivers, stored in batches by the LocationWriter; after
 * each stored batch, the geofences of the active dispatches it touches are evaluated once each
 * (use-cases/geofences.ts).
 */
import { z } from 'zod';
import type { PointRow } from '../db/locations.js';
import { applyGeofenceChanges, findGeofenceChanges } from '../use-cases/geofences.js';
import { LocationWriter } from './location-writer.js';
import { HIGH_VOLUME_JOB_OPTIONS, defineQueue } from './define.js';

export const MAX_POINTS_PER_POST = 500;

export const LocationPoint = z.object({
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  recordedAt: z.iso.datetime({ offset: true }).optional(),
  speed: z.number().min(0).max(400).nullable().optional(),
  heading: z.number().min(0).max(360).nullable().optional(),
  accuracy: z.number().min(0).max(100_000).nullable().optional(),
  key: z.string().min(1).max(100).optional(),
});

export const LocationPoints = z.object({
  driverId: z.number().int().positive(),
  receivedAt: z.iso.datetime({ offset: true }),
  points: z.array(LocationPoint).min(1).max(MAX_POINTS_PER_POST),
});
export type LocationPoints = z.infer<typeof LocationPoints>;

/**
 * A point's identity for deduplication: the client's key if it sent one, else the
 * time it was recorded (a re-uploaded offline buffer is stored once), else its
 * position in this job (stable across retries of the job).
 */
export function pointKey(point: z.infer<typeof LocationPoint>, jobId: string, index: number): string {
  if (point.key) return `k:${point.key}`;
  if (point.recordedAt) return `t:${new Date(point.recordedAt).toISOString()}`;
  return `j:${jobId}:${index}`;
}

export function toPointRows(data: LocationPoints, jobId: string): PointRow[] {
  const receivedAt = new Date(data.receivedAt);
  return data.points.map((p, i) => ({
    driver_id: data.driverId,
    latitude: p.lat,
    longitude: p.lng,
    speed_kmh: p.speed ?? null,
    heading_deg: p.heading ?? null,
    accuracy_m: p.accuracy ?? null,
    recorded_at: p.recordedAt ? new Date(p.recordedAt) : receivedAt,
    received_at: receivedAt,
    point_key: pointKey(p, jobId, i),
  }));
}

export const locationsQueue = defineQueue({
  name: 'locations',
  description: '차량 위치 저장 · GPS points',
  hashTag: 'locations',
  dispatcherVisible: true,
  jobs: { points: LocationPoints },
  defaultJobOptions: { ...HIGH_VOLUME_JOB_OPTIONS },
  concurrency: (config) => config.worker.locationsConcurrency,
  // Thousands per second: successes would drown the log; failures still log at warn.
  successLogLevel: 'debug',
  createProcessor: ({ db, metrics, log, live, config }) => {
    // The outbox rows geofence events write go out on the relay's next poll (OUTBOX_POLL_MS).
    const unit = { db, log, relay: { kick() {} } };
    const writer = new LocationWriter(db, metrics, log.child({ component: 'location-writer' }), {
      maxPoints: config.worker.locationBatchMaxPoints,
      maxWaitMs: config.worker.locationBatchMaxWaitMs,
      onCommitted: (latest) =>
        live.publish({
          type: 'positions',
          positions: latest.map((p) => ({
            driver_id: p.driver_id,
            latitude: p.latitude,
            longitude: p.longitude,
            recorded_at: p.recorded_at.toISOString(),
          })),
        }),
      geofences: {
        find: (trx, points) => findGeofenceChanges(trx, points),
        apply: (changes) => applyGeofenceChanges(unit, changes),
      },
    });
    return {
      handlers: {
        points: async (data, { job }) => {
          await writer.write(toPointRows(data, String(job.id)));
          return { points: data.points.length };
        },
      },
      close: () => writer.close(),
    };
  },
});
