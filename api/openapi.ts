/**
 * The OpenAPI 3.1 document, generated from the route declarations (api/route.ts)
 * and the very zod schemas that validate requests: nothing here restates a field.
 * The few paths that are not RouteSpecs (Prometheus metrics, the operator pages,
 * the reference itself) are described in BROWSER_AND_TOOL_PATHS below.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { AuthRequirement, RouteSpec } from './route.js';
import { ErrorResponse } from './schemas/common.js';

export const API_BASE = '/api/v1';
export const OPENAPI_PATH = `${API_BASE}/openapi.json`;
export const DOCS_PATH = '/docs';

type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;
/** Our params and query schemas are zod objects; RouteSpec types them loosely. */
type RouteParameter = NonNullable<RouteConfig['request']>['params'];

export interface OpenApiOptions {
  /** The application version (package.json), shown in the reference. */
  version: string;
}

/** Express path syntax to OpenAPI: /orders/:id becomes /orders/{id}, /files/*rest becomes /files/{rest}. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/[:*]([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** Who may call a route, in words: the reference shows it beside the lock icon. */
export function describeAuth(auth: AuthRequirement): string {
  if (auth === 'public') return 'Anyone; no token needed.';
  if (auth === 'authenticated') return 'Any signed-in user (bearer access token).';
  if (auth === 'driver') return 'A signed-in user linked to a driver profile (bearer access token); only their own dispatches.';
  if (auth === 'vehicle-key') return "A vehicle gateway with an API key bound to one vehicle (`X-Api-Key`); only that vehicle's data.";
  return `Signed-in users with the role ${auth.join(' or ')} (bearer access token).`;
}

/** The OpenAPI security requirement of a route's auth. */
export function securityOf(auth: AuthRequirement): Record<string, string[]>[] {
  if (auth === 'public') return [];
  if (auth === 'vehicle-key') return [{ vehicleApiKey: [] }];
  return [{ bearerAuth: [] }];
}

/** A stable operationId: method plus the path's words, e.g. post_orders_id_cancel. */
function operationId(method: string, path: string): string {
  const words = path
    .replace(/[:*{}]/g, '')
    .split('/')
    .filter(Boolean)
    .map((w) => w.replace(/[^A-Za-z0-9]+/g, '_'));
  return [method, ...words].join('_');
}

const IdempotencyKeyHeader = z.object({
  'Idempotency-Key': z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/)
    .optional()
    .meta({
      description:
        'Makes a retry safe: the same key with the same request returns the first response (with `Idempotent-Replayed: true`) ' +
        'and creates nothing new; the same key with a different request is 422. 1 to 200 visible ASCII characters, e.g. a UUID.',
      example: '3f1c7a52-8d7e-4b8e-9a51-0c6f1f2e7d10',
    }),
});

const errorContent = { 'application/json': { schema: ErrorResponse } };

/** Answers every route can give beyond what its declaration lists, so the reference shows them too. */
function implicitResponses(route: RouteSpec): Record<number, ResponseConfig> {
  const extra: Record<number, ResponseConfig> = {};
  const hasInput = Boolean(route.body || route.multipart || route.query || route.params || route.idempotencyKey);
  if (hasInput) extra[400] = { description: 'Invalid input; `details` lists every problem (`field`, `message`)', content: errorContent };
  if (route.auth !== 'public') {
    extra[401] = {
      description: route.auth === 'vehicle-key' ? 'Missing, unknown or revoked API key' : 'Missing, expired or revoked access token',
      content: errorContent,
    };
    if (route.auth !== 'authenticated' && route.auth !== 'vehicle-key')
      extra[403] = { description: 'Signed in, but not allowed to call this route', content: errorContent };
  }
  const limited = (route.rateLimit ?? (route.auth === 'public' ? 'none' : 'general')) !== 'none';
  if (limited || route.before?.length) {
    extra[429] = { description: 'Rate limited; retry after the `Retry-After` seconds', content: errorContent };
  }
  extra[500] = { description: 'Unexpected error (logged with the request id; no details are shown)', content: errorContent };
  return extra;
}

function isOptionalBody(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}

function routeConfig(route: RouteSpec): RouteConfig {
  const path = `${API_BASE}${toOpenApiPath(route.path)}`;
  const declared: Record<number, ResponseConfig> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    declared[Number(status)] = {
      description: spec.description,
      content: spec.schema ? { [spec.contentType ?? 'application/json']: { schema: spec.schema } } : undefined,
    };
  }
  const responses: Record<string, ResponseConfig> = { ...implicitResponses(route), ...declared };
  if (route.idempotencyKey) {
    for (const [status, response] of Object.entries(responses)) {
      if (Number(status) >= 300) continue;
      response.headers = {
        'Idempotent-Replayed': {
          description: '`true` when this is the stored first response to an earlier request with the same Idempotency-Key',
          schema: { type: 'string', enum: ['true'] },
        },
      };
    }
  }
  const mediaTypes = route.form ? ['application/json', 'application/x-www-form-urlencoded'] : ['application/json'];
  const notes = [
    route.description,
    `**Who may call:** ${describeAuth(route.auth)}${route.shipperKey ? " Also a shipper's API key (`X-Api-Key`, role shipper): only its own client's records; another client's are a 404." : ''}`,
    route.idempotencyKey ? '**Idempotent:** send an `Idempotency-Key` header to make retries safe.' : undefined,
  ].filter(Boolean);
  return {
    method: route.method,
    path,
    operationId: operationId(route.method, route.path),
    summary: route.summary,
    description: notes.join('\n\n'),
    tags: route.tags,
    security: [...securityOf(route.auth), ...(route.shipperKey ? [{ shipperApiKey: [] }] : [])],
    'x-uvis-auth': route.auth,
    request: {
      params: route.params as RouteParameter,
      query: route.query as RouteParameter,
      headers: route.idempotencyKey ? IdempotencyKeyHeader : undefined,
      body: route.body
        ? {
            required: !isOptionalBody(route.body),
            content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: route.body! }])),
          }
        : route.multipart
          ? { required: true, content: { 'multipart/form-data': { schema: route.multipart } } }
          : undefined,
    },
    responses,
  };
}

const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' as const } } } });
const redirect = (description: string) => ({ description, headers: { Location: { schema: { type: 'string' as const } } } });

/**
 * Paths served outside the route list: Prometheus' scrape endpoint, the browser pages
 * (sign-in, Bull Board, the dispatcher dashboard) and this reference. Browser pages
 * use the session cookie from /admin/login, never a bearer token.
 */
function browserAndToolPaths(): RouteConfig[] {
  const metrics = (path: string): RouteConfig => ({
    method: 'get',
    path,
    operationId: `get_${path.replace(/\W+/g, '_').replace(/^_|_$/g, '')}`,
    summary: 'Prometheus metrics of this API process (text exposition format)',
    description:
      'Scraped by Prometheus. When `METRICS_TOKEN` is set it needs `Authorization: Bearer <METRICS_TOKEN>`; otherwise it is open ' +
      '(keep it off the public proxy). Every worker process serves the same on `METRICS_PORT` (9464).',
    tags: ['operations'],
    security: [{}, { metricsToken: [] }],
    responses: {
      200: { description: 'Metrics', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } },
      401: { description: 'METRICS_TOKEN is set and the request did not carry it', content: errorContent },
    },
  });
  const LoginForm = z.object({
    username: z.string().meta({ description: 'E-mail address' }),
    password: z.string(),
    _csrf: z.string().meta({ description: 'The token from the form on GET /admin/login' }),
    next: z.string().optional().meta({ description: 'Where to go after signing in: a path under /admin or /dashboard' }),
  });
  const cookie = [{ sessionCookie: [] }];
  return [
    metrics('/metrics'),
    metrics(`${API_BASE}/metrics`),
    {
      method: 'get',
      path: OPENAPI_PATH,
      operationId: 'get_openapi',
      summary: 'This OpenAPI 3.1 document',
      tags: ['reference'],
      security: [],
      responses: { 200: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
    {
      method: 'get',
      path: DOCS_PATH,
      operationId: 'get_docs',
      summary: 'Browsable reference of this document (Swagger UI, served from this server: works offline)',
      tags: ['reference'],
      security: [],
      responses: { 200: html('The reference page'), 301: redirect('To /docs/') },
    },
    {
      method: 'get',
      path: '/admin/login',
      operationId: 'get_admin_login',
      summary: 'Operator sign-in page (browser) for Bull Board and the dashboard',
      description: 'Sets the CSRF cookie that the form posts back. Admins and dispatchers only.',
      tags: ['operator pages'],
      security: [],
      responses: { 200: html('The sign-in form') },
    },
    {
      method: 'post',
      path: '/admin/login',
      operationId: 'post_admin_login',
      summary: 'Operator sign-in (browser form): sets a secure, http-only, same-site session cookie',
      tags: ['operator pages'],
      security: [],
      request: { body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: LoginForm } } } },
      responses: {
        303: redirect('Signed in; to `next`'),
        401: html('Wrong e-mail or password (the form again)'),
        403: html('Not an admin or dispatcher, or a missing or invalid CSRF token'),
        429: html('Too many failed sign-ins'),
      },
    },
    {
      method: 'get',
      path: '/admin/logout',
      operationId: 'get_admin_logout',
      summary: 'Sign-out page (browser)',
      tags: ['operator pages'],
      security: cookie,
      responses: { 200: html('A form that posts to /admin/logout') },
    },
    {
      method: 'post',
      path: '/admin/logout',
      operationId: 'post_admin_logout',
      summary: 'Sign out (browser form): revokes the session',
      tags: ['operator pages'],
      security: cookie,
      request: { body: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ _csrf: z.string() }) } } } },
      responses: { 303: redirect('Signed out; to /admin/login'), 403: html('Missing or invalid CSRF token') },
    },
    {
      method: 'get',
      path: '/admin/queues',
      operationId: 'get_admin_queues',
      summary: 'Bull Board (browser): queues and jobs; admins retry, promote, clean and pause, dispatchers look',
      description:
        'Its own JSON calls live under /admin/queues/api and need the session cookie plus the `X-XSRF-TOKEN` header ' +
        "(the board sends it); they are the board's, not a public API.",
      tags: ['operator pages'],
      security: cookie,
      responses: {
        200: html('The board'),
        303: redirect('Not signed in; to /admin/login'),
        403: { description: 'Not an admin or dispatcher', content: errorContent },
      },
    },
    {
      method: 'get',
      path: '/track/{token}',
      operationId: 'get_track_page',
      summary: "An order's public tracking page (HTML, Korean first; the JSON is GET /api/v1/track/{token})",
      description: 'No sign-in: the token in `tracking_url` is the credential. No personal data; 404 for an unknown or revoked link.',
      tags: ['tracking'],
      security: [],
      request: { params: z.object({ token: z.string() }) },
      responses: { 200: html('The page'), 404: html('Unknown or revoked link') },
    },
    {
      method: 'get',
      path: '/track/tracking.css',
      operationId: 'get_track_css',
      summary: "The tracking page's stylesheet",
      tags: ['tracking'],
      security: [],
      responses: { 200: { description: 'CSS', content: { 'text/css': { schema: { type: 'string' } } } } },
    },
    {
      method: 'get',
      path: '/dashboard',
      operationId: 'get_dashboard',
      summary:
        'Dispatcher dashboard (browser single-page app): public static files; it signs in with POST /auth/login and reads /dashboard/* with a bearer token',
      tags: ['operator pages'],
      security: [],
      responses: {
        200: html('The dashboard page'),
        503: { description: 'The dashboard has not been built (npm run build:dashboard)', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  ];
}

export function buildOpenApiDocument(routes: RouteSpec[], options: OpenApiOptions): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The `access_token` from POST /api/v1/auth/login (15 minutes by default); renew it with POST /api/v1/auth/refresh.',
  });
  registry.registerComponent('securitySchemes', 'vehicleApiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Api-Key',
    description: "A vehicle gateway's key (`uvk_...`) from POST /api/v1/admin/api-keys, bound to one vehicle; shown once when created.",
  });
  registry.registerComponent('securitySchemes', 'shipperApiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Api-Key',
    description: "A shipper's key (`uvk_...`, role shipper) from POST /api/v1/admin/api-keys, bound to one client; shown once when created.",
  });
  registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN, when the deployment sets one.',
  });
  registry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'uvis_session',
    description: 'Browser session from POST /admin/login (operator pages only).',
  });
  for (const route of routes) registry.registerPath(routeConfig(route));
  for (const path of browserAndToolPaths()) registry.registerPath(path);

  const tags = [...new Set(routes.flatMap((r) => r.tags))].map((name) => ({ name }));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'UVIS API',
      version: options.version,
      description: [
        "Dispatch backend of a cold-chain carrier: orders, dispatches, fleet, drivers' mobile app, job status.",
        '',
        '**Authentication:** `POST /api/v1/auth/login` (form or JSON) returns a bearer `access_token`; send it as `Authorization: Bearer <token>`.',
        '**Errors:** always `{"error": {"code", "message", "details"}}` (schema `Error`).',
        '**Pages:** lists return `{items, next_cursor}`; pass `next_cursor` back as `cursor` until it is null.',
        '**Retries:** routes marked idempotent honour an `Idempotency-Key` header.',
      ].join('\n'),
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: [...tags, { name: 'operations' }, { name: 'reference' }, { name: 'operator pages' }],
  });
}
