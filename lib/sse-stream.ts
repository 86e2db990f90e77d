/**
 * One server-sent events response: the headers that keep proxies from buffering it,
 * framed events, comments as heartbeats, and a bound on what a slow reader may pile
 * up (past it the connection is dropped; the page reconnects and reloads its data).
 */
import type { ServerResponse } from 'node:http';

export interface SseStreamOptions {
  /** Bytes queued for a client that does not read before it is disconnected. */
  maxBufferedBytes?: number;
}

export class SseStream {
  private ended = false;
  private readonly maxBufferedBytes: number;

  constructor(
    private readonly res: ServerResponse,
    options: SseStreamOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    // no-transform: a compressing proxy would hold events back until its buffer fills.
    res.setHeader('Cache-Control', 'no-store, no-transform');
    // nginx buffers proxied responses unless told not to.
    res.setHeader('X-Accel-Buffering', 'no');
    // When the stream ends (token expiry, shutdown) the socket goes too: an idle keep-alive
    // socket left behind would hold a graceful shutdown until its keep-alive timeout.
    res.setHeader('Connection', 'close');
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    res.once('close', () => {
      this.ended = true;
    });
  }

  get closed(): boolean {
    return this.ended || this.res.destroyed || this.res.writableEnded;
  }

  /** Sends one event; data is JSON (or an already serialised JSON string), which never contains a raw newline. */
  send(event: string, data: unknown): void {
    const json = typeof data === 'string' ? data : JSON.stringify(data);
    this.write(`event: ${event}\ndata: ${json}\n\n`);
  }

  /** A comment line: ignored by readers, but keeps idle proxies from closing the connection and lets the page notice a dead one. */
  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  end(event?: { name: string; data: unknown }): void {
    if (this.closed) return;
    if (event) this.send(event.name, event.data);
    this.ended = true;
    this.res.end();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    if (this.res.writableLength > this.maxBufferedBytes) {
      this.ended = true;
      this.res.destroy();
      return;
    }
    this.res.write(chunk);
  }
}
