/**
 * Relays committed outbox rows to BullMQ. The job id is the outbox id, so a row
 * relayed twice (a crash between add and mark) is one job. Runs in every process:
 * the API kicks it right after a commit, and a poll catches whatever a kick missed
 * (Redis down at that moment, a crashed process). Replicas skip each other's rows.
 */
import type { Db } from '../db/knex.js';
import { claimUnpublished, markPublished, recordRelayFailure, type OutboxRow } from '../db/outbox.js';
import type { QueueName } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import { withTimeout } from '../lib/timeout.js';
import type { Queues } from './queues.js';

export interface OutboxRelayOptions {
  pollMs: number;
  batchSize?: number;
  addTimeoutMs: number;
}

export const outboxJobId = (id: number) => `ob-${id}`;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private failing = false;

  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Relays soon, without waiting for the next poll; calls during a run coalesce into one more run. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Relays everything pending now; returns how many rows it published. */
  async relayPending(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.relayBatch();
      total += published;
      if (published < (this.options.batchSize ?? 200)) return total;
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.relayPending()
      .then(() => {
        if (this.failing) this.log.info('outbox relay recovered');
        this.failing = false;
      })
      .catch((err: unknown) => {
        // Logged once per outage rather than once per poll.
        if (!this.failing) this.log.warn({ err }, 'outbox relay failing; rows stay in the outbox and are retried');
        this.failing = true;
      })
      .then(() => undefined);
    await this.running;
    this.running = undefined;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else {
      this.schedule(this.options.pollMs);
    }
  }

  private async relayBatch(): Promise<number> {
    let claimed: OutboxRow[] = [];
    try {
      return await this.db.transaction(async (trx) => {
        claimed = await claimUnpublished(trx, this.options.batchSize ?? 200);
        if (claimed.length === 0) return 0;
        const byQueue = new Map<string, OutboxRow[]>();
        for (const row of claimed) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
        for (const [queue, rows] of byQueue) {
          const target = this.queues[queue as QueueName];
          if (!target) throw new Error(`outbox row for unknown queue ${queue}`);
          await withTimeout(
            target.addBulk(rows.map((r) => ({ name: r.job_name, data: { ...r.payload, eventId: r.id }, opts: { jobId: outboxJobId(r.id) } }))),
            this.options.addTimeoutMs,
            () => new Error('queue add timed out'),
          );
          this.metrics.outboxPublished.inc({ queue }, rows.length);
        }
        await markPublished(
          trx,
          claimed.map((r) => r.id),
        );
        return claimed.length;
      });
    } catch (err) {
      if (claimed.length > 0) {
        await recordRelayFailure(
          this.db,
          claimed.map((r) => r.id),
          err instanceof Error ? err.message : String(err),
        ).catch(() => {});
      }
      throw err;
    }
  }
}
