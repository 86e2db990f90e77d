/**
 * The API side of live events: one Redis subscription per API process, fanned out to
 * that process's server-sent-event streams. Workers publish on liveChannel(prefix)
 * (lib/live-events.ts), so a browser connected to any replica sees every change, and
 * replicas need no sticky sessions or knowledge of each other.
 *
 * The subscription and the timers exist only while at least one stream is open: an
 * API process nobody watches holds no extra Redis connection and reads no queue counts.
 * While streams are open, a one-second tick sends heartbeats, ends streams whose token
 * expired or whose session was revoked, reads queue counts, and ends every stream when
 * the process starts draining (so a graceful shutdown never waits on them).
 */
import type { ServerResponse } from 'node:http';
import { AppError, UnavailableError } from './errors/index.js';
import type { Logger } from './logger.js';
import { closeRedis, type RedisClient } from './redis.js';
import { SseStream } from './sse-stream.js';
import { withTimeout } from './timeout.js';

/** Event types the workers publish; anything else on the channel is ignored. */
const FORWARDED = new Set(['dispatch', 'order', 'positions', 'excursion', 'geofence', 'temperature', 'proof']);

/** Streams one account may hold by default: its tabs on all its devices. */
export const MAX_STREAMS_PER_USER = 8;

export interface LiveHubOptions {
  channel: string;
  /** Opens the dedicated subscriber connection (one that reconnects forever). */
  connect: () => RedisClient;
  log: Logger;
  /** Queue counts for the 'queues' event; sent (with the time read) only when they change. */
  readQueueCounts: () => Promise<Record<string, unknown>>;
  isDraining: () => boolean;
  /** How long a new stream waits for the subscription before answering 503. */
  subscribeTimeoutMs: number;
  queueIntervalMs?: number;
  heartbeatMs?: number;
  tickMs?: number;
  maxStreams?: number;
  /** Streams one account may hold (its tabs on all its devices): one token must not take every slot. */
  maxStreamsPerUser?: number;
}

export interface StreamOwner {
  userId: number;
  /** When the stream must end (ms since the epoch): its access token's expiry or its session's end, whichever comes first. */
  expiresAt: number;
  /** Whether the session and role still allow watching; checked every heartbeat. */
  stillAllowed: () => Promise<boolean>;
}

/** The caller hung up (or the socket died) while the stream waited for its subscription. */
function gone(res: ServerResponse): boolean {
  return res.destroyed || !res.socket || res.socket.destroyed;
}

interface Client extends StreamOwner {
  stream: SseStream;
  checking: boolean;
}

export class LiveHub {
  private readonly clients = new Set<Client>();
  private subscriber: RedisClient | undefined;
  private subscribed: Promise<unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastHeartbeat = 0;
  private lastQueueRead = 0;
  private readingQueues = false;
  /** Streams waiting for the subscription: the hub must not stop under them. */
  private opening = 0;
  private lastQueues: string | undefined;
  private lastQueueCounts: string | undefined;
  private readonly queueIntervalMs: number;
  private readonly heartbeatMs: number;
  private readonly tickMs: number;
  private readonly maxStreams: number;
  private readonly maxStreamsPerUser: number;
  /** Streams per account, open or waiting for the subscription. */
  private readonly perUser = new Map<number, number>();

  constructor(private readonly options: LiveHubOptions) {
    this.queueIntervalMs = options.queueIntervalMs ?? 2000;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.tickMs = options.tickMs ?? 1000;
    this.maxStreams = options.maxStreams ?? 1000;
    this.maxStreamsPerUser = options.maxStreamsPerUser ?? MAX_STREAMS_PER_USER;
  }

  get streamCount(): number {
    return this.clients.size;
  }

  /**
   * Opens a stream on res. Resolves once the subscription is live, after the 'hello'
   * event: a page that loads its data after 'hello' cannot miss a change in between.
   * Throws (before any byte is written) when draining, full, or Redis does not answer.
   */
  async open(res: ServerResponse, owner: StreamOwner): Promise<void> {
    if (this.options.isDraining()) throw new UnavailableError('server', 'shutting down; reconnect to another replica');
    if (this.clients.size >= this.maxStreams) throw new UnavailableError('server', 'too many live connections on this replica');
    const held = this.perUser.get(owner.userId) ?? 0;
    if (held >= this.maxStreamsPerUser) {
      throw new AppError(
        429,
        'too_many_streams',
        `this account already has ${held} live streams open; close a tab or retry later`,
        { limit: this.maxStreamsPerUser },
        { 'Retry-After': '15' },
      );
    }
    this.perUser.set(owner.userId, held + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const left = (this.perUser.get(owner.userId) ?? 1) - 1;
      if (left > 0) this.perUser.set(owner.userId, left);
      else this.perUser.delete(owner.userId);
    };
    const subscribed = this.ensureRunning();
    this.opening++;
    let failed = true;
    try {
      await withTimeout(subscribed, this.options.subscribeTimeoutMs, () => new UnavailableError('redis'));
      failed = false;
    } catch (err) {
      release();
      throw err instanceof UnavailableError ? err : new UnavailableError('redis');
    } finally {
      this.opening--;
      // Nothing to keep running for if this stream failed or its caller left while waiting.
      if ((failed || gone(res)) && this.clients.size === 0 && this.opening === 0) this.stop();
    }
    if (gone(res)) return release();
    const client: Client = { ...owner, stream: new SseStream(res), checking: false };
    this.clients.add(client);
    res.once('close', () => {
      release();
      this.remove(client);
    });
    client.stream.send('hello', { server_time: new Date().toISOString(), heartbeat_ms: this.heartbeatMs });
    if (this.lastQueues) client.stream.send('queues', this.lastQueues);
    else this.lastQueueRead = 0;
  }

  /** Ends every stream (shutdown, or a test simulating a network drop); pages reconnect by themselves. */
  closeAll(reason: string): void {
    for (const client of [...this.clients]) client.stream.end({ name: 'bye', data: { reason } });
    this.clients.clear();
    this.stop();
  }

  private remove(client: Client): void {
    this.clients.delete(client);
    if (this.clients.size === 0 && this.opening === 0) this.stop();
  }

  private ensureRunning(): Promise<unknown> {
    if (this.subscriber && this.subscribed) return this.subscribed;
    const subscriber = this.options.connect();
    let readyBefore = false;
    subscriber.on('ready', () => {
      // After a reconnect, events published meanwhile are lost: tell pages to reload their data.
      if (readyBefore) this.broadcast('resync', '{"reason":"redis reconnected"}');
      readyBefore = true;
    });
    subscriber.on('message', (_channel: string, message: string) => this.forward(message));
    this.subscriber = subscriber;
    this.subscribed = subscriber.subscribe(this.options.channel);
    // A failure here is reported to the stream that waits on it; later ones retry on reconnect.
    this.subscribed.catch(() => {});
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
    return this.subscribed;
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.lastQueues = this.lastQueueCounts = undefined;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed = undefined;
    if (subscriber) void closeRedis(subscriber);
  }

  private forward(message: string): void {
    let type: unknown;
    try {
      type = (JSON.parse(message) as { type?: unknown }).type;
    } catch {
      return;
    }
    if (typeof type === 'string' && FORWARDED.has(type)) this.broadcast(type, message);
  }

  private broadcast(event: string, data: string): void {
    for (const client of this.clients) client.stream.send(event, data);
  }

  private tick(): void {
    if (this.options.isDraining()) return this.closeAll('draining');
    const now = Date.now();
    for (const client of this.clients) {
      if (client.stream.closed) this.clients.delete(client);
      else if (client.expiresAt <= now) client.stream.end({ name: 'bye', data: { reason: 'token_expired' } });
    }
    if (now - this.lastHeartbeat >= this.heartbeatMs) {
      this.lastHeartbeat = now;
      for (const client of this.clients) {
        client.stream.comment('ping');
        void this.recheck(client);
      }
    }
    if (now - this.lastQueueRead >= this.queueIntervalMs && !this.readingQueues) {
      this.lastQueueRead = now;
      void this.readQueues();
    }
  }

  private async recheck(client: Client): Promise<void> {
    if (client.checking) return;
    client.checking = true;
    try {
      if (!(await client.stillAllowed())) client.stream.end({ name: 'bye', data: { reason: 'session_ended' } });
    } catch {
      // The database did not answer: keep the stream; the next heartbeat checks again.
    } finally {
      client.checking = false;
    }
  }

  private async readQueues(): Promise<void> {
    this.readingQueues = true;
    try {
      const counts = await this.options.readQueueCounts();
      const key = JSON.stringify(counts);
      if (key !== this.lastQueueCounts && this.clients.size > 0) {
        this.lastQueueCounts = key;
        this.lastQueues = JSON.stringify({ at: new Date().toISOString(), ...counts });
        this.broadcast('queues', this.lastQueues);
      }
    } catch (err) {
      this.options.log.debug({ err }, 'queue counts not read for live streams');
    } finally {
      this.readingQueues = false;
    }
  }
}
