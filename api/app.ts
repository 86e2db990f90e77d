/** Builds the Express app from its dependencies. It never listens: server.ts does, and tests drive it directly. */
import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import type { AppDeps } from './deps.js';
import { authenticate, authorize } from './middleware/authenticate.js';
import { authenticateShipperKey, authenticateVehicleKey } from './middleware/api-key.js';
import { bodyParser } from './middleware/body.js';
import { errorHandler, notFound } from './middleware/error-handler.js';
import { LoginGuard } from './middleware/login-guard.js';
import { RateLimits } from './middleware/rate-limit.js';
import { receiveDeadline } from './middleware/receive-deadline.js';
import { requestLogging } from './middleware/request-logging.js';
import { securityHeaders } from './middleware/security-headers.js';
import { validateInput } from './middleware/validate.js';
import { metricsHandler } from './metrics-endpoint.js';
import { ROUTER_OPTIONS, mountRoutes, uploadRouteMatcher } from './route.js';
import { allRoutes } from './routes/index.js';
import { mountApiDocs } from './docs.js';
import { mountTrackingPage } from './tracking-page.js';

/**
 * Pages served beside the API (the operator sign-in and Bull Board, the dashboard's
 * build), mounted after /api/v1 and before the 404 handler. The composition root
 * (app/start.ts) passes them in, so the API never imports the dashboard.
 */
export type PageMount = (app: Express, deps: AppDeps, loginGuard: RequestHandler[]) => void;

function trustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

export function buildApp(deps: AppDeps, pages: PageMount[] = []): Express {
  const { config, metrics, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  // API answers are not cached by clients; hashing every body for an ETag is wasted work.
  app.set('etag', false);
  app.set('trust proxy', trustProxy(config.trustProxy));
  // One spelling per route: /METRICS, /metrics/ or /api/v1/Metrics must not reach a
  // route that a proxy blocks by its exact path. Routers get the same (ROUTER_OPTIONS).
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  // While draining, every response closes its connection: keep-alive clients (a load
  // balancer's pool) then open new connections, which go to the other replicas.
  app.use((_req, res, next) => {
    if (deps.lifecycle.draining) res.setHeader('Connection', 'close');
    next();
  });
  app.use(requestLogging(log, metrics));
  app.use(securityHeaders());

  const limits = new RateLimits(deps.redis, config.redisPrefix, config.rateLimits, log);
  app.get(['/metrics', '/api/v1/metrics'], limits.public, metricsHandler(metrics, config.metricsToken));

  const api = express.Router(ROUTER_OPTIONS);
  // Browsers on other origins may call the API only from configured origins; with none
  // configured (the default) there is nothing for CORS to answer, so it is not mounted.
  // Exposed headers: without them a page on another origin cannot read when to retry or which request failed.
  if (config.corsOrigins.length > 0) {
    api.use(
      cors({
        origin: config.corsOrigins,
        maxAge: 600,
        exposedHeaders: ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'Idempotent-Replayed', 'X-Request-Id'],
      }),
    );
  }
  const loginGuard = config.rateLimits.enabled ? [limits.loginAttempts, new LoginGuard(deps.redis, config.redisPrefix, config.rateLimits).middleware()] : [];
  const routes = allRoutes(deps, loginGuard);
  mountRoutes(api, routes, deps, {
    authenticate: authenticate(deps),
    authenticateVehicleKey: authenticateVehicleKey(deps),
    authenticateShipperKey: authenticateShipperKey(deps),
    authorize,
    rateLimit: (kind) => limits[kind],
    refusedApiKeys: limits.refusedApiKeys,
    body: bodyParser,
    validate: validateInput,
  });
  // Before every route that reads a body: Node's own bound is the longest upload's.
  app.use(receiveDeadline(config.http.requestTimeoutMs, uploadRouteMatcher(routes, '/api/v1')));
  app.use('/api/v1', api);
  mountTrackingPage(app, deps, limits.public);
  for (const mount of pages) mount(app, deps, loginGuard);
  mountApiDocs(app, deps);

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
