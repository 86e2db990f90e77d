/**
 * A read shared by concurrent callers and reused for a while: scrape-time metrics
 * (app/scrape-metrics.ts, api/metrics-endpoint.ts) cost one read a second however
 * often Prometheus, or a flood pretending to be it, asks.
 */

/** How long a scrape-time read is reused: a flood of scrapes costs Redis and PostgreSQL one read a second. */
export const SCRAPE_CACHE_MS = 1000;

/**
 * A scrape-time read shared by every gauge it fills and by every scrape within
 * cacheMs of it: concurrent scrapes wait for the running read, later ones reuse its
 * result until it is cacheMs old. A failed read is not kept (the next scrape retries).
 */
export function cachedRead<T>(read: () => Promise<T>, cacheMs = SCRAPE_CACHE_MS, now: () => number = Date.now): () => Promise<T> {
  let current: { value: Promise<T>; at: number } | undefined;
  return () => {
    if (current && now() - current.at < cacheMs) return current.value;
    const entry = { value: read(), at: now() };
    current = entry;
    entry.value.then(
      () => {
        // Fresh from when the read finished, so a slow read is still reused for cacheMs.
        entry.at = now();
      },
      () => {
        if (current === entry) current = undefined;
      },
    );
    return entry.value;
  };
}
