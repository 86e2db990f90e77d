/**
 * Live updates: the API's server-sent events, read with fetch() and a ReadableStream.
 *
 * Why not EventSource: it cannot send an Authorization header, so it would need a
 * cookie (and with it CSRF defences on the whole API) or a token in the URL (which
 * ends up in logs and history). fetch sends the bearer token like every other call;
 * the price is doing by hand what EventSource does for free: parsing the stream,
 * reconnecting with backoff, and noticing a dead connection (no heartbeat comment
 * within a few intervals: a dropped Wi-Fi link often never closes the socket).
 *
 * After every (re)connection the server says 'hello' once its Redis subscription is
 * live; the page then reloads its data, so nothing that happened while it was away is
 * missed.
 */
import { accessToken, refreshTokens } from './api.js';
import { SseParser } from './sse-parser.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveHandlers {
  onEvent: (name: string, data: unknown) => void;
  onState: (state: LiveState) => void;
  /** The stream is (again) subscribed: reload everything. */
  onConnected: () => void;
  /** The account may no longer watch (its role changed): the stream stops for good. */
  onForbidden: () => void;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;

class AuthFailed extends Error {}
class Forbidden extends Error {}

export class LiveConnection {
  private stopped = true;
  private generation = 0;
  private controller: AbortController | undefined;
  private wake: (() => void) | undefined;
  private heartbeatMs = 15_000;

  constructor(private readonly handlers: LiveHandlers) {
    // Back online: try at once instead of waiting out the backoff.
    window.addEventListener('online', () => this.wake?.());
    window.addEventListener('offline', () => {
      this.handlers.onState('offline');
      this.controller?.abort();
    });
  }

  start(): void {
    // A new generation: a loop left over from before a stop() sees it and quits.
    const generation = ++this.generation;
    this.stopped = false;
    void this.loop(generation);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.controller?.abort();
    this.wake?.();
  }

  get running(): boolean {
    return !this.stopped;
  }

  private async loop(generation: number): Promise<void> {
    let failures = 0;
    const current = () => generation === this.generation && !this.stopped;
    this.handlers.onState('connecting');
    while (current()) {
      let connected = false;
      try {
        await this.connectOnce(() => {
          connected = true;
          failures = 0;
        });
      } catch (err) {
        if (err instanceof Forbidden) {
          // Retrying cannot help: a 403 is the server's answer about this account, not the network.
          this.stop();
          this.handlers.onForbidden();
          return;
        }
        if (err instanceof AuthFailed && !(await refreshTokens())) {
          // Not signed in any more: api.ts has already sent the page back to sign-in, or will on its next call.
          if (!accessToken()) return;
        }
      }
      if (!current()) return;
      if (!connected) failures++;
      this.handlers.onState(navigator.onLine ? 'reconnecting' : 'offline');
      const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(failures, 5));
      await this.sleep(base / 2 + Math.random() * (base / 2));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async connectOnce(onHello: () => void): Promise<void> {
    const token = accessToken();
    if (!token) throw new AuthFailed();
    const controller = new AbortController();
    this.controller = controller;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const feedWatchdog = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), this.heartbeatMs * 2.5);
    };
    try {
      feedWatchdog();
      const res = await fetch('/api/v1/dashboard/events', {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
        cache: 'no-store',
        credentials: 'omit',
        signal: controller.signal,
      });
      if (res.status === 401) throw new AuthFailed();
      if (res.status === 403) throw new Forbidden();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        feedWatchdog();
        for (const { event, data } of parser.push(value)) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(data);
          } catch {
            continue;
          }
          if (event === 'hello') {
            const beat = (parsed as { heartbeat_ms?: unknown }).heartbeat_ms;
            if (typeof beat === 'number' && beat > 0) this.heartbeatMs = beat;
            feedWatchdog();
            onHello();
            this.handlers.onState('live');
            this.handlers.onConnected();
          } else if (event === 'resync') {
            this.handlers.onConnected();
          } else if (event !== 'bye') {
            this.handlers.onEvent(event, parsed);
          }
        }
      }
    } finally {
      clearTimeout(watchdog);
      controller.abort();
    }
  }
}
