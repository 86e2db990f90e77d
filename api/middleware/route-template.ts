import type { Request, RequestHandler } from 'express';

/**
 * The matched route's template (/api/v1/orders/:id), never the raw URL: metric
 * labels and log fields must not grow with every id a client sends.
 */
export function routeTemplate(req: Request): string {
  // Recorded when the route matched; Express forgets req.route once an error leaves the router.
  const recorded = req.res?.locals.routeTemplate;
  if (typeof recorded === 'string') return recorded;
  const route = req.route as { path?: unknown } | undefined;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  if (req.baseUrl) return `${req.baseUrl}/*`;
  return 'unmatched';
}

/** First handler of every declared route: remembers the template for the metrics and the request log. */
export const recordRouteTemplate: RequestHandler = (req, res, next) => {
  res.locals.routeTemplate = `${req.baseUrl}${(req.route as { path: string }).path}`;
  next();
};
