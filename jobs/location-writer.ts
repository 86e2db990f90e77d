/**
 * Batches GPS points from many concurrent jobs into one transaction: flushed when
 * maxPoints are waiting or maxWaitMs after the first arrived. Each job's promise
 * settles only after its points are committed, so BullMQ acknowledges a job only
 * once its data is safe; a crash before commit leaves the job to be retried, and
 * the unique (driver, point_key) makes the retry harmless.
 */
import { UnrecoverableError } from 'bullmq';
import type { Db } from '../db/knex.js';
import { insertPoints, upsertPositions, type PointRow } from '../db/locations.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';

interface Entry {
  points: PointRow[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface LocationWriterOptions {
  maxPoints: number;
  maxWaitMs: number;
  /** Called after a commit with each driver's newest point of the batch (live dashboard). */
  onCommitted?: (latest: PointRow[]) => void;
}

// SQLSTATE classes 22 (data exception) and 23 (constraint violation): the data is at fault, not the database.
const isDataError = (err: unknown) => /^2[23]/.test(String((err as { code?: unknown })?.code ?? ''));

export class LocationWriter {
  private pending: Entry[] = [];
  private pendingPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: LocationWriterOptions,
  ) {}

  /** Resolves once these points are committed (or were already stored). */
  write(points: PointRow[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ points, resolve, reject });
      this.pendingPoints += points.length;
      if (this.pendingPoints >= this.options.maxPoints) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  /** Writes whatever is waiting and resolves when every batch in flight has settled. */
  async close(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const entries = this.pending;
    this.pending = [];
    this.pendingPoints = 0;
    const run = this.writeEntries(entries).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private async writeEntries(entries: Entry[]): Promise<void> {
    const points = entries.flatMap((e) => e.points);
    try {
      const latest = newestPerDriver(points);
      const stored = await this.db.transaction(async (trx) => {
        const inserted = await insertPoints(trx, points);
        // Once per batch and driver, not once per point.
        await upsertPositions(trx, latest);
        return inserted;
      });
      this.metrics.locationsStored.inc(stored);
      this.metrics.locationBatchSize.observe(points.length);
      for (const entry of entries) entry.resolve();
      this.options.onCommitted?.(latest);
    } catch (err) {
      if (entries.length > 1 && isDataError(err)) {
        // One job's bad data must not fail its neighbours: write each job on its own.
        this.log.warn({ err, jobs: entries.length }, 'location batch refused; retrying its jobs one by one');
        for (const entry of entries) await this.writeEntries([entry]);
        return;
      }
      // A job's own bad data fails the same way on every attempt: fail it now (it stays
      // in the failed set for inspection) instead of retrying it for an hour and a half.
      const reason = isDataError(err) ? new UnrecoverableError(`PostgreSQL refused the points (SQLSTATE ${(err as { code: string }).code})`) : err;
      for (const entry of entries) entry.reject(reason);
    }
  }
}

export function newestPerDriver(points: PointRow[]): PointRow[] {
  const newest = new Map<number, PointRow>();
  for (const p of points) {
    const current = newest.get(p.driver_id);
    if (!current || p.recorded_at >= current.recorded_at) newest.set(p.driver_id, p);
  }
  return [...newest.values()];
}
