/** Prometheus text exposition of this process's registry, optionally behind a bearer token. */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { cachedRead } from '../lib/cached-read.js';
import type { Metrics } from '../lib/metrics.js';

export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The text exposition, shared by concurrent scrapes and reused for SCRAPE_CACHE_MS: a
 * flood of scrapes serializes the registry (milliseconds of CPU for every histogram
 * series) once a second instead of once per request. Prometheus scrapes every 15 s,
 * so it never sees the reuse. The gauges read from Redis and PostgreSQL are cached
 * the same way (app/scrape-metrics.ts).
 */
function sharedExposition(metrics: Metrics): () => Promise<string> {
  return cachedRead(() => metrics.registry.metrics());
}

export function metricsHandler(metrics: Metrics, token: string | undefined): RequestHandler {
  const exposition = sharedExposition(metrics);
  return async (req, res) => {
    if (!metricsAuthorized(req.headers.authorization, token)) {
      res.status(401).json({ error: { code: 'unauthorized', message: 'metrics token required', details: null } });
      return;
    }
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await exposition());
  };
}
