/** Reads the API's server-sent event streams in tests. */
import { SseParser } from '../../dashboard/web/src/sse-parser.js';
import { waitFor } from './api-client.js';

export interface StreamEvent {
  event: string;
  data: any;
}

/** Reads a server-sent event stream the way the page does: fetch, a reader and the page's own parser. */
export async function openStream(url: string, token?: string) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: controller.signal });
  const events: StreamEvent[] = [];
  let ended = false;
  const reading = (async () => {
    if (!res.ok || !res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const e of parser.push(value)) events.push({ event: e.event, data: JSON.parse(e.data) });
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
    }
  })();
  return {
    res,
    events,
    get ended() {
      return ended;
    },
    next: (event: string, match: (data: any) => boolean = () => true, timeoutMs = 10_000) =>
      waitFor(async () => events.find((e) => e.event === event && match(e.data)), { what: `a ${event} event`, timeoutMs }),
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}
