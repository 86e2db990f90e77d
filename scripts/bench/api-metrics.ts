/**
 * What the API says about itself under load, from its /metrics: request-duration
 * buckets per endpoint (for percentiles over a window), event-loop lag and resident
 * memory. Only the API's series count: `npm start`'s `all` mode may serve the
 * workers' series beside them under another role label.
 */
import { SCRAPE_CACHE_MS } from '../../lib/cached-read.js';
import { parseMetrics, type Sample } from '../../tests/helpers/prom-text.js';

/** role="api" for an API process, role="all" for one process running both. */
const API_ROLES = new Set(['api', 'all']);

export interface MetricsSnapshot {
  at: number;
  samples: Sample[];
}

export async function scrapeApi(base: string): Promise<MetricsSnapshot> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return { at: Date.now(), samples: parseMetrics(text).filter((s) => !s.labels.role || API_ROLES.has(s.labels.role)) };
}

/** Sum of the API's samples named `name` (a counter or a gauge) whose labels include `labels`. */
export function apiValue(snapshot: MetricsSnapshot, name: string, labels: Record<string, string> = {}): number {
  return snapshot.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/**
 * The API shares one exposition between the scrapes that arrive while it is being
 * read and for SCRAPE_CACHE_MS after (api/metrics-endpoint.ts), and a read is slow
 * under load, so one scrape can show counts seconds old. Scrapes again until `current`
 * accepts what it shows (or 30 s have passed: then the last one, however old).
 */
export async function currentScrape(base: string, current: (s: MetricsSnapshot, previous?: MetricsSnapshot) => boolean): Promise<MetricsSnapshot> {
  let previous: MetricsSnapshot | undefined;
  for (let tries = 0; ; tries++) {
    const snapshot = await scrapeApi(base);
    if (current(snapshot, previous) || tries >= 30) return snapshot;
    previous = snapshot;
    // Past the reuse period, so the next scrape gets a read of its own unless one is running.
    await new Promise((r) => setTimeout(r, SCRAPE_CACHE_MS + 200));
  }
}

/** Requests the API has answered on `endpoint` ("METHOD /route"), every status. */
export function answered(snapshot: MetricsSnapshot, endpoint: string): number {
  const [method, route] = endpoint.split(' ');
  return apiValue(snapshot, 'http_request_duration_seconds_count', { method: method!, route: route! });
}

/** Cumulative request-duration buckets ("METHOD /route" → upper bound in s → count), statuses summed. */
function durationBuckets(snapshot: MetricsSnapshot): Map<string, Map<number, number>> {
  const byRoute = new Map<string, Map<number, number>>();
  for (const s of snapshot.samples) {
    if (s.name !== 'http_request_duration_seconds_bucket') continue;
    const key = `${s.labels.method} ${s.labels.route}`;
    const buckets = byRoute.get(key) ?? new Map<number, number>();
    const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + s.value);
    byRoute.set(key, buckets);
  }
  return byRoute;
}

/** The p-th percentile (ms) of the requests between two snapshots, interpolated within buckets as histogram_quantile does. */
function windowPercentile(before: Map<number, number> | undefined, after: Map<number, number>, p: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => after.get(b)! - (before?.get(b) ?? 0));
  const total = counts[counts.length - 1]!;
  if (!total) return null;
  const rank = (p / 100) * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]! === Infinity ? lower : bounds[i]!;
      const below = i === 0 ? 0 : counts[i - 1]!;
      return Math.round((lower + ((upper - lower) * (rank - below)) / Math.max(counts[i]! - below, 1)) * 10000) / 10;
    }
  }
  return null;
}

export interface ServerRow {
  endpoint: string;
  requests: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/** The API's own percentiles per endpoint over the window between two snapshots. */
export function serverPercentiles(before: MetricsSnapshot, after: MetricsSnapshot): ServerRow[] {
  const from = durationBuckets(before);
  return [...durationBuckets(after)].flatMap(([endpoint, buckets]) => {
    const requests = (buckets.get(Infinity) ?? 0) - (from.get(endpoint)?.get(Infinity) ?? 0);
    if (!requests) return [];
    const at = (p: number) => windowPercentile(from.get(endpoint), buckets, p);
    return [{ endpoint, requests, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99) }];
  });
}

/**
 * Scrapes the API every `intervalMs` until stopped. prom-client resets its event-loop
 * lag percentiles at each scrape, so each snapshot's lag p99 covers the interval since
 * the previous one.
 */
export function sampleApi(base: string, intervalMs: number) {
  const snapshots: MetricsSnapshot[] = [];
  let failedScrapes = 0;
  const take = () =>
    scrapeApi(base).then(
      (s) => (snapshots.push(s), s),
      () => (failedScrapes++, undefined),
    );
  const timer = setInterval(take, intervalMs);
  return {
    snapshots,
    failedScrapes: () => failedScrapes,
    stop: () => clearInterval(timer),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : 0;
};
const ms = (seconds: number) => Math.round(seconds * 10000) / 10;

/** Event-loop lag (per-interval p99: max and median; p50 median) and peak RSS from the snapshots taken in [from, to]. */
export function lagAndMemory(snapshots: MetricsSnapshot[], from: number, to: number) {
  const inWindow = snapshots.filter((s) => s.at > from && s.at <= to);
  const p99s = inWindow.map((s) => apiValue(s, 'nodejs_eventloop_lag_p99_seconds'));
  const p50s = inWindow.map((s) => apiValue(s, 'nodejs_eventloop_lag_p50_seconds'));
  return {
    intervals: inWindow.length,
    lagP99MaxMs: ms(Math.max(0, ...p99s)),
    lagP99MedianMs: ms(median(p99s)),
    lagP50MedianMs: ms(median(p50s)),
    // Over the whole run: memory peaks in the sign-in storm as much as in the steady mix.
    apiPeakRssMb: Math.round(Math.max(0, ...snapshots.map((s) => apiValue(s, 'process_resident_memory_bytes'))) / 1048576),
  };
}
