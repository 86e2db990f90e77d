/** Prometheus text exposition of this process's registry, optionally behind a bearer token. */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Metrics } from '../lib/metrics.js';

export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Scrapes that arrive while one is being collected get that one's text: a flood of
 * scrapes serializes the registry once per round instead of once per request (the
 * expensive gauges are also cached for a second, app/scrape-metrics.ts).
 */
function sharedExposition(metrics: Metrics): () => Promise<string> {
  let running: Promise<string> | undefined;
  return () =>
    (running ??= metrics.registry.metrics().finally(() => {
      running = undefined;
    }));
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
