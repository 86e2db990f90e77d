import type { Request } from 'express';

/**
 * The matched route's template (/api/v1/orders/:id), never the raw URL: metric
 * labels and log fields must not grow with every id a client sends.
 */
export function routeTemplate(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  if (req.baseUrl) return `${req.baseUrl}/*`;
  return 'unmatched';
}
