/** Counts and times every request by method, route template and status. */
import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '../../lib/metrics.js';
import { routeTemplate } from './route-template.js';

export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeTemplate(req), status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
