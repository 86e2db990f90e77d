/**
 * /api/v1/openapi.json is valid OpenAPI 3.1, generated from the route declarations,
 * and describes exactly what the app registers; /docs serves the reference from this
 * server alone (it works offline) and renders in a real browser under its CSP.
 */
import { spawnSync } from 'node:child_process';
import type { Express } from 'express';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH, buildOpenApiDocument, toOpenApiPath } from '../../api/openapi.js';
import type { RouteSpec } from '../../api/route.js';
import { allRoutes } from '../../api/routes/index.js';
import { ErrorResponse } from '../../api/schemas/common.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { startChild } from './support.js';

type Doc = { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } };

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string | string[];
  name: string;
}

/** Every route (method and full path) and every mount point of an Express 5 app, by walking its router stack. */
function registered(app: Express): { routes: Set<string>; mounts: Set<string> } {
  const routes = new Set<string>();
  const mounts = new Set<string>();
  const paths = (p: string | string[] | undefined) => (Array.isArray(p) ? p : [p ?? '']);
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const path of paths(layer.route.path)) {
          for (const method of Object.keys(layer.route.methods)) if (method !== '_all') routes.add(`${method.toUpperCase()} ${prefix}${path}`);
        }
      } else {
        for (const path of paths(layer.rawPath)) {
          const at = path === '/' ? prefix : `${prefix}${path}`;
          if (at) mounts.add(at);
          if (layer.handle.stack) walk(layer.handle.stack, at);
        }
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return { routes, mounts };
}

let uvis: TestUvis;
let doc: Doc;
let routes: RouteSpec[];

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  const res = await uvis.api.get('/api/v1/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  routes = allRoutes(uvis.running.deps);
});
afterAll(async () => {
  await uvis?.stop();
});

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ key: `${m.toUpperCase()} ${path}`, op: item[m], path, method: m })),
  );

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc).toMatchObject({ openapi: '3.1.0', info: { title: 'UVIS API' } });
  });

  it('is generated from the route declarations (the same list app.ts mounts)', () => {
    const generated = buildOpenApiDocument(routes, { version: (doc as any).info.version });
    expect(JSON.parse(JSON.stringify(generated))).toEqual(doc);
  });

  it('covers every route the app registers, and names nothing the app does not serve', () => {
    const app = uvis.running.server!.listeners('request')[0] as Express;
    const { routes: appRoutes, mounts } = registered(app);
    const documented = new Set(operations().map((o) => o.key));
    // A page's folder URL and its index.html are the same page (/dashboard, /dashboard/, /dashboard/index.html).
    const toDoc = (key: string) => {
      const [method, path] = key.split(' ');
      return `${method} ${toOpenApiPath(path!).replace(/\/(index\.html)?$/, '') || '/'}`;
    };
    const undocumented = [...appRoutes].map(toDoc).filter((key) => !documented.has(key));
    expect(undocumented, 'routes the app registers without a description in api/openapi.ts').toEqual([]);
    // Reverse: each documented operation is a registered route or lives under a mount (Bull Board, /docs, /dashboard).
    const served = new Set([...appRoutes].map(toDoc));
    const phantom = [...documented].filter((key) => !served.has(key) && ![...mounts].some((m) => key.split(' ')[1] === m));
    expect(phantom, 'documented but not served').toEqual([]);
    // The API's own routes are all RouteSpecs: the count matches the declaration list.
    const apiRoutes = [...appRoutes].filter((k) => k.includes(' /api/v1/') && !k.endsWith('/metrics') && !k.endsWith(OPENAPI_PATH));
    expect(apiRoutes).toHaveLength(routes.length);
  });

  it('gives each route its auth, input, idempotency, responses and the error shape', () => {
    for (const route of routes) {
      const label = `${route.method.toUpperCase()} ${route.path}`;
      const op = doc.paths[`/api/v1${toOpenApiPath(route.path)}`]?.[route.method];
      expect(op, label).toBeTruthy();
      expect(op.summary, label).toBe(route.summary);
      expect(op.tags, label).toEqual(route.tags);
      expect(op['x-uvis-auth'], label).toEqual(route.auth);
      expect(op.security, label).toEqual([
        ...(route.auth === 'public' ? [] : route.auth === 'vehicle-key' ? [{ vehicleApiKey: [] }] : [{ bearerAuth: [] }]),
        ...(route.shipperKey ? [{ shipperApiKey: [] }] : []),
      ]);
      expect(op.description, label).toContain('**Who may call:**');
      if (route.auth !== 'public') expect(op.responses['401'], label).toBeTruthy();
      if (Array.isArray(route.auth) || route.auth === 'driver') expect(op.responses['403'], label).toBeTruthy();
      const parameters = (op.parameters ?? []) as { in: string; name: string; required?: boolean }[];
      const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect(
        parameters
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort(),
        label,
      ).toEqual(pathParams.sort());
      expect(
        parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
        label,
      ).toBe(Boolean(route.idempotencyKey));
      expect(Boolean(op.requestBody), label).toBe(Boolean(route.body || route.multipart));
      // A streamed upload (proofs) is described as the form it reads.
      if (route.multipart) expect(Object.keys(op.requestBody.content), label).toEqual(['multipart/form-data']);
      if (route.form) expect(Object.keys(op.requestBody.content), label).toContain('application/x-www-form-urlencoded');
      for (const [status, spec] of Object.entries(route.responses)) {
        const response = op.responses[status];
        expect(response?.description, `${label} ${status}`).toBe(spec.description);
        if (spec.schema) expect(response.content, `${label} ${status}`).toBeTruthy();
      }
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        // Every error is the Error shape, except where a route declares its own (readiness' 503 lists its checks).
        const declared = route.responses[Number(status)]?.schema;
        if (declared && declared !== ErrorResponse) continue;
        if (Number(status) >= 400 && response.content?.['application/json']) {
          expect(response.content['application/json'].schema, `${label} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
    expect(doc.components.schemas.Error).toMatchObject({ type: 'object', required: ['error'] });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('takes its schemas from the validators: what the document requires is what the API refuses without', async () => {
    const create = doc.paths['/api/v1/orders']!.post.requestBody.content['application/json'].schema;
    expect(create).toEqual({ $ref: '#/components/schemas/OrderCreate' });
    const orderCreate = doc.components.schemas.OrderCreate as { required: string[]; additionalProperties: boolean };
    // client_id: required of staff by the handler, omitted by a shipper key (its own client).
    expect(orderCreate.required.sort()).toEqual(['cargo_type', 'delivery_address', 'pickup_address', 'weight']);
    expect(orderCreate.additionalProperties).toBe(false);
    const token = await uvis.api.login();
    const res = await uvis.api.post('/api/v1/orders', {}, token);
    expect(res.status).toBe(400);
    const fields = (res.body.error.details as { field: string }[]).map((d) => d.field.replace(/^body\./, '')).sort();
    expect(fields).toEqual(orderCreate.required.sort());
  });
});

describe('/docs', () => {
  it('redirects /docs to /docs/ and serves a page whose every asset comes from this server', async () => {
    const redirect = await fetch(`${uvis.baseUrl}/docs`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/docs/');
    const page = await fetch(`${uvis.baseUrl}/docs/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset, 'a relative, same-origin URL').toMatch(/^\.\//);
      const res = await fetch(new URL(asset, `${uvis.baseUrl}/docs/`));
      expect(res.status, asset).toBe(200);
    }
    const init = await (await fetch(`${uvis.baseUrl}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('"swaggerUrl": "/api/v1/openapi.json"');
    expect(init).toContain('"validatorUrl": null');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:/);
  });

  it('renders the reference in a headless browser, offline, under its CSP', async () => {
    const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('which', [c]).status === 0);
    expect(chromium, 'a Chromium binary (apt-get install chromium)').toBeTruthy();
    // Asynchronous: the server under test runs in this process and must keep answering.
    const child = startChild(chromium!, [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--enable-logging=stderr',
      '--v=0',
      '--virtual-time-budget=15000',
      '--dump-dom',
      `${uvis.baseUrl}/docs/`,
    ]);
    const timer = setTimeout(() => child.process.kill('SIGKILL'), 60_000);
    const code = await child.exited;
    clearTimeout(timer);
    const dom = child.output();
    expect(code, dom.slice(-2000)).toBe(0);
    // No request left this server, and nothing was blocked by the page's CSP.
    expect(dom).not.toMatch(/Refused to (load|execute|apply)/);
    // Swagger UI built the page from the document: tags and operation summaries are in the DOM.
    expect(dom).toContain('UVIS API');
    expect(dom).toContain('/api/v1/orders');
    expect(dom).toContain('Create an order (status PENDING)');
    expect(dom).toContain('opblock');
  }, 90_000);
});
