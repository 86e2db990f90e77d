/**
 * Routes are declared as data (method, path, auth, schemas, responses, handler) and
 * mounted by mountRoutes. The same declarations feed the OpenAPI document, so the
 * reference can never drift from what the app registers and validates.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Principal } from '../db/sessions.js';
import type { UserRole } from '../domain/roles.js';
import type { Logger } from '../lib/logger.js';
import type { AppDeps } from './deps.js';
import { recordRouteTemplate } from './middleware/route-template.js';

/** Routers match paths exactly like the app (api/app.ts): case-sensitive, and a trailing slash is a different path. */
export const ROUTER_OPTIONS = { caseSensitive: true, strict: true } as const;

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * public: anyone; authenticated: any signed-in user; a role list; driver: a user linked to a driver profile;
 * vehicle-key: no user, a vehicle gateway's API key (`X-Api-Key`, api/middleware/vehicle-key.ts), which sets vehicleKey.
 */
export type AuthRequirement = 'public' | 'authenticated' | 'driver' | 'vehicle-key' | readonly UserRole[];

/** public: per client address, the default of routes without sign-in; general and location: per user. */
export type RateLimitClass = 'general' | 'location' | 'public' | 'none';

export interface VehicleKey {
  keyId: number;
  vehicleId: number;
}

/** A shipper's API key and the client it is bound to (routes with `shipperKey`). */
export interface ShipperKey {
  keyId: number;
  clientId: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function reply(status: number, body?: unknown, headers?: Record<string, string>): Reply {
  return { status, body, headers };
}

export interface RouteContext<B, Q, P> {
  req: Request;
  res: Response;
  body: B;
  query: Q;
  params: P;
  /**
   * The signed-in user; set on every route whose auth is neither 'public' nor 'vehicle-key',
   * except on a shipper-key request to a `shipperKey` route (then `shipper` is set instead).
   */
  principal: Principal;
  /** Set when a shipper's API key made the request (routes with `shipperKey` only): scope everything to its client. */
  shipper: ShipperKey | undefined;
  /** The API key and the vehicle it is bound to; set on 'vehicle-key' routes only. */
  vehicleKey: VehicleKey;
  log: Logger;
  deps: AppDeps;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Media type when not JSON (downloads, the metrics text). */
  contentType?: string;
}

export interface RouteSpec<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  method: HttpMethod;
  /** Express path below /api/v1, e.g. /orders/:id */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: AuthRequirement;
  /**
   * Also open to a shipper's API key (`X-Api-Key`, role shipper, bound to one client), beside the
   * users `auth` names. The handler gets `shipper` and must confine the answer to its client:
   * another client's record is a 404, as if it did not exist.
   */
  shipperKey?: true;
  body?: B;
  query?: Q;
  params?: P;
  /**
   * A multipart/form-data body the handler reads itself, as a stream (uploads): the schema describes
   * the form for the reference; the body parser lets such a request through untouched (415 for any other type).
   */
  multipart?: z.ZodType;
  /** Largest accepted body; default 16kb. */
  bodyLimit?: string;
  /** Also accept application/x-www-form-urlencoded (the seed's login form). */
  form?: boolean;
  rateLimit?: RateLimitClass;
  /** Honours an Idempotency-Key header (documented in OpenAPI). */
  idempotencyKey?: boolean;
  /** Route-specific middleware run after validation (login limiters). */
  before?: RequestHandler[];
  responses: Record<number, ResponseSpec>;
  handler: (ctx: RouteContext<z.output<B>, z.output<Q>, z.output<P>>) => Promise<Reply | void>;
}

export function defineRoute<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType>(spec: RouteSpec<B, Q, P>): RouteSpec {
  return spec as unknown as RouteSpec;
}

export interface RouteMiddleware {
  authenticate: RequestHandler;
  /** X-Api-Key of a vehicle gateway, for routes whose auth is 'vehicle-key'. */
  authenticateVehicleKey: RequestHandler;
  /** X-Api-Key of a shipper, for requests without a bearer token to routes with `shipperKey`. */
  authenticateShipperKey: RequestHandler;
  authorize: (requirement: Exclude<AuthRequirement, 'vehicle-key'>) => RequestHandler;
  rateLimit: (kind: Exclude<RateLimitClass, 'none'>) => RequestHandler;
  /** Counts requests whose API key was refused, per address, and refuses more (429) past the limit. */
  refusedApiKeys: RequestHandler;
  body: (route: RouteSpec) => RequestHandler;
  validate: (route: RouteSpec) => RequestHandler;
}

export interface ValidatedInput {
  body: unknown;
  query: unknown;
  params: unknown;
}

/** A shipper's key when the request carries X-Api-Key and no bearer token; the user chain otherwise. */
function userOrShipper(shipper: RequestHandler, user: [RequestHandler, RequestHandler]): RequestHandler {
  return (req, res, next) => {
    if (req.headers.authorization === undefined && req.headers['x-api-key'] !== undefined) return shipper(req, res, next);
    const [authenticate, authorize] = user;
    return authenticate(req, res, (err?: unknown) => (err ? next(err) : authorize(req, res, next)));
  };
}

/** Whether a request is for a route that reads an upload (`multipart`), by method and path under `prefix`. */
export function uploadRouteMatcher(routes: readonly RouteSpec[], prefix: string): (req: { method: string; path: string }) => boolean {
  const uploads = routes
    .filter((r) => r.multipart !== undefined)
    .map((r) => ({ method: r.method.toUpperCase(), path: new RegExp(`^${prefix}${r.path.replace(/:[A-Za-z_]+/g, '[^/]+')}$`) }));
  return (req) => uploads.some((u) => u.method === req.method && u.path.test(req.path));
}

export function mountRoutes(router: Router, routes: RouteSpec[], deps: AppDeps, mw: RouteMiddleware): void {
  for (const route of routes) {
    const chain: RequestHandler[] = [recordRouteTemplate];
    // Refused API keys are counted per address before any key is looked up (RateLimits.refusedApiKeys).
    if (route.auth === 'vehicle-key') chain.push(mw.refusedApiKeys, mw.authenticateVehicleKey);
    else if (route.auth !== 'public' && route.shipperKey)
      chain.push(mw.refusedApiKeys, userOrShipper(mw.authenticateShipperKey, [mw.authenticate, mw.authorize(route.auth)]));
    else if (route.auth !== 'public') chain.push(mw.authenticate, mw.authorize(route.auth));
    // Routes without sign-in are limited per address (sign-in keeps its own guards as well).
    const limit = route.rateLimit ?? (route.auth === 'public' ? 'public' : 'general');
    if (limit !== 'none') chain.push(mw.rateLimit(limit));
    chain.push(mw.body(route), mw.validate(route), ...(route.before ?? []));
    chain.push(async (req, res) => {
      const input = res.locals.valid as ValidatedInput;
      const result = await route.handler({
        req,
        res,
        body: input.body,
        query: input.query,
        params: input.params,
        principal: res.locals.principal as Principal,
        vehicleKey: res.locals.vehicleKey as VehicleKey,
        shipper: res.locals.shipper as ShipperKey | undefined,
        // Read only by handlers that log: the child logger is made on first use (request-logging.ts).
        get log() {
          return req.log;
        },
        deps,
      });
      if (!result) return;
      if (result.headers) res.set(result.headers);
      res.status(result.status);
      if (result.body === undefined) return void res.end();
      // Straight to the socket: res.json's content negotiation and freshness checks are
      // wasted on API answers (measurably so on the GPS hot path).
      const json = JSON.stringify(result.body);
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(json));
      res.end(json);
    });
    router[route.method](route.path, ...chain);
  }
}
