/**
 * Batches rows from many concurrent jobs into one write (GPS points: location-writer.ts;
 * temperature readings: telemetry.ts): flushed when maxRows are waiting or
 * maxWaitMs after the first arrived. Each job's promise settles only after its rows
 * are committed, so BullMQ acknowledges a job only once its data is safe; a crash
 * before commit leaves the job to be retried, and the store's natural key makes the
 * retry harmless. One job's bad data (SQLSTATE class 22 or 23) does not fail its
 * neighbours, and fails its own job without retries.
 */
import { UnrecoverableError } from 'bullmq';
import type { Logger } from '../lib/logger.js';

interface Entry<R> {
  rows: R[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface BatchWriterOptions<R, S> {
  maxRows: number;
  maxWaitMs: number;
  /** Writes the rows in one transaction. Its SQLSTATE 22/23 errors are the rows' fault (see below). */
  store: (rows: R[]) => Promise<S>;
  /**
   * What follows a commit (metrics, live events, derived data), given what store returned.
   * Its errors are never the rows' fault: every job of the batch fails with the error as
   * it is and is retried (its rows are stored; the retry stores nothing and runs this again).
   */
  afterCommit?: (stored: S) => Promise<void> | void;
  /** What the rows are, for logs and errors ("temperature readings"). */
  what: string;
}

// SQLSTATE classes 22 (data exception) and 23 (constraint violation): the data is at fault, not the database.
const isDataError = (err: unknown) => /^2[23]/.test(String((err as { code?: unknown })?.code ?? ''));

export class BatchWriter<R, S = void> {
  private pending: Entry<R>[] = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly log: Logger,
    private readonly options: BatchWriterOptions<R, S>,
  ) {}

  /** Resolves once these rows are committed (or were already stored). */
  write(rows: R[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      this.pendingRows += rows.length;
      if (this.pendingRows >= this.options.maxRows) this.flush();
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
    this.pendingRows = 0;
    const run = this.writeEntries(entries).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private async writeEntries(entries: Entry<R>[]): Promise<void> {
    let stored: S;
    try {
      stored = await this.options.store(entries.flatMap((e) => e.rows));
    } catch (err) {
      if (entries.length > 1 && isDataError(err)) {
        // One job's bad data must not fail its neighbours: write each job on its own.
        this.log.warn({ err, jobs: entries.length }, `${this.options.what}: batch refused; retrying its jobs one by one`);
        for (const entry of entries) await this.writeEntries([entry]);
        return;
      }
      // A job's own bad data fails the same way on every attempt: fail it now (it stays in
      // the failed set for inspection) instead of retrying it for an hour and a half.
      const reason = isDataError(err)
        ? new UnrecoverableError(`PostgreSQL refused the ${this.options.what} (SQLSTATE ${(err as { code: string }).code})`)
        : err;
      for (const entry of entries) entry.reject(reason);
      return;
    }
    try {
      await this.options.afterCommit?.(stored);
      for (const entry of entries) entry.resolve();
    } catch (err) {
      for (const entry of entries) entry.reject(err);
    }
  }
}
