/**
 * Relays committed outbox rows to BullMQ. The job id comes from the row's job key,
 * so a row relayed twice (a crash between add and mark) is one job. Runs in every
 * process: the API kicks it right after a commit, and a poll catches whatever a kick
 * missed (Redis down at that moment, a crashed process). Replicas skip each other's
 * rows. While relaying fails, polls back off and kicks wait for the next poll, so an
 * outage does not turn every request into another doomed attempt. With
 * REDIS_WAIT_REPLICAS a row is marked published only once replicas hold its job.
 */
import type { Db } from '../db/knex.js';
import { claimUnpublished, markPublished, recordRelayFailure, type OutboxRow } from '../db/outbox.js';
import type { QueueName } from './index.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../lib/metrics.js';
import { withTimeout } from '../lib/timeout.js';
import type { RedisClient } from '../lib/redis.js';
import { awaitReplicas, type Queues, type ReplicaWait } from './queues.js';

export interface OutboxRelayOptions {
  pollMs: number;
  batchSize?: number;
  addTimeoutMs: number;
  /** The connection the queues write on, and how many replicas must acknowledge before a row counts as published. */
  replicaWait?: ReplicaWait & { connection: RedisClient };
}

export const outboxJobId = (jobKey: string) => `ob-${jobKey}`;

/** Longest wait between polls while relaying keeps failing. */
export const MAX_FAILING_POLL_MS = 10_000;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private failures = 0;

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
    if (this.stopped || this.failures > 0) return;
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
        if (this.failures > 0) this.log.info({ failedPolls: this.failures }, 'outbox relay recovered');
        this.failures = 0;
      })
      .catch((err: unknown) => {
        // Logged once per outage rather than once per poll.
        if (this.failures === 0) this.log.warn({ err }, 'outbox relay failing; rows stay in the outbox and are retried');
        this.failures += 1;
      })
      .then(() => undefined);
    await this.running;
    this.running = undefined;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else {
      this.schedule(this.nextPollMs());
    }
  }

  /** The poll interval, doubling with each failed poll up to MAX_FAILING_POLL_MS (never below the interval). */
  private nextPollMs(): number {
    const { pollMs } = this.options;
    if (this.failures === 0) return pollMs;
    return Math.max(pollMs, Math.min(pollMs * 2 ** this.failures, MAX_FAILING_POLL_MS));
  }

  private async relayBatch(): Promise<number> {
    let claimed: OutboxRow[] = [];
    try {
      return await this.db.transaction(async (trx) => {
        claimed = await claimUnpublished(trx, Object.keys(this.queues), this.options.batchSize ?? 200);
        if (claimed.length === 0) return 0;
        const byQueue = new Map<string, OutboxRow[]>();
        for (const row of claimed) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
        for (const [queue, rows] of byQueue) {
          const target = this.queues[queue as QueueName]!;
          await withTimeout(
            target.addBulk(
              rows.map((r) => ({ name: r.job_name, data: { ...r.payload, eventId: r.id, eventKey: r.job_key }, opts: { jobId: outboxJobId(r.job_key) } })),
            ),
            this.options.addTimeoutMs,
            () => new Error('queue add timed out'),
          );
          const wait = this.options.replicaWait;
          if (wait) await awaitReplicas(wait.connection, target, wait);
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
