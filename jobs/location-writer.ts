/**
 * Stores GPS points in batches (jobs/batch-writer.ts): the points of many concurrent
 * jobs in one transaction, each driver's latest position upserted once per batch, and
 * the unique (driver, point_key) making a retried job harmless. After the commit, the
 * batch's drivers are handed on once each (geofence evaluation, jobs/locations.ts).
 */
import type { Db, Trx } from '../db/knex.js';
import { insertPoints, upsertPositions, type PointRow } from '../db/locations.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import type { GeofenceChange } from '../use-cases/geofences.js';
import { BatchWriter } from './batch-writer.js';

export interface LocationWriterOptions {
  maxPoints: number;
  maxWaitMs: number;
  /** Called after a commit with each driver's newest point of the batch (live dashboard). */
  onCommitted?: (latest: PointRow[]) => void;
  /**
   * Geofences: `find` runs in the batch's transaction before its inserts, with the batch's
   * points; `apply` after the commit with what `find` returned. Errors of
   * either fail the batch's jobs, which are retried: a retry stores nothing and evaluates again.
   */
  geofences?: {
    find: (trx: Trx, points: PointRow[]) => Promise<GeofenceChange[]>;
    apply: (changes: GeofenceChange[]) => Promise<unknown>;
  };
}

export class LocationWriter extends BatchWriter<PointRow, { latest: PointRow[]; changes: GeofenceChange[] }> {
  constructor(db: Db, metrics: Metrics, log: Logger, options: LocationWriterOptions) {
    super(log, {
      what: 'points',
      maxRows: options.maxPoints,
      maxWaitMs: options.maxWaitMs,
      store: async (points) => {
        const latest = newestPerDriver(points);
        const { stored, changes } = await db.transaction(async (trx) => {
          // Before the inserts: the evaluation reads the stored fixes around the batch and takes the batch's own from memory.
          const changes = options.geofences ? await options.geofences.find(trx, points) : [];
          const inserted = await insertPoints(trx, points);
          // Once per batch and driver, not once per point.
          await upsertPositions(trx, latest);
          return { stored: inserted, changes };
        });
        metrics.locationsStored.inc(stored);
        metrics.locationBatchSize.observe(points.length);
        return { latest, changes };
      },
      afterCommit: async ({ latest, changes }) => {
        options.onCommitted?.(latest);
        if (changes.length > 0) await options.geofences?.apply(changes);
      },
    });
  }
}

/** Each driver's one point that `wins` over all its others. */
function onePerDriver(points: PointRow[], wins: (p: PointRow, current: PointRow) => boolean): PointRow[] {
  const chosen = new Map<number, PointRow>();
  for (const p of points) {
    const current = chosen.get(p.driver_id);
    if (!current || wins(p, current)) chosen.set(p.driver_id, p);
  }
  return [...chosen.values()];
}

export const newestPerDriver = (points: PointRow[]) => onePerDriver(points, (p, current) => p.recorded_at >= current.recorded_at);
