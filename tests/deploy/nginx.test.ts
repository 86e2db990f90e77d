/**
 * nginx/: the compose main file and the UVIS template, rendered the way the nginx
 * image renders them (envsubst of UVIS_* only) with a test certificate made here by
 * openssl, pass `nginx -t`; then a real nginx on loopback ports, in front of a live
 * UVIS, shows the redirect, the proxied API and the headers.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPath } from '../../lib/paths.js';
import { waitFor } from '../helpers/api-client.js';
import { freePort } from '../helpers/private-redis.js';
import { BOUNDARY, FORM_TAIL, dispatchWithDriver, formHead, noiseJpeg } from '../helpers/proofs.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { httpsFetch, run, startChild, type Child } from './support.js';

const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** The nginx image's 20-envsubst-on-templates.sh with NGINX_ENVSUBST_FILTER=^UVIS_: only UVIS_* placeholders. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(UVIS_[A-Z0-9_]+)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`no value for ${name}`);
    return values[name]!;
  });
}

interface Layout {
  dir: string;
  conf: string;
  ca: string;
  globals: string;
}

/** /etc/nginx as the container has it: nginx.conf, mime.types, conf.d/uvis.conf, certificates. */
function layout(values: (dir: string) => Record<string, string>): Layout {
  const dir = mkdtempSync(join(tmpdir(), 'uvis-nginx-'));
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'certs'));
  cpSync(projectPath('nginx', 'nginx.conf'), join(dir, 'nginx.conf'));
  cpSync('/etc/nginx/mime.types', join(dir, 'mime.types'));
  // A throwaway CA and a server certificate for localhost signed by it: nothing is committed.
  const certs = join(dir, 'certs');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=UVIS test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'privkey.pem', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(certs, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'fullchain.pem',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  const template = readFileSync(projectPath('nginx', 'templates', 'uvis.conf.template'), 'utf8');
  writeFileSync(join(dir, 'conf.d', 'uvis.conf'), renderTemplate(template, values(dir)));
  return {
    dir,
    conf: join(dir, 'nginx.conf'),
    ca: readFileSync(join(certs, 'ca.pem'), 'utf8'),
    // Where this nginx keeps its pid and errors: the compiled defaults are the system's.
    globals: `pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')} info;`,
  };
}

function values(dir: string, ports: { http: number; https: number; upstream: number }): Record<string, string> {
  return {
    UVIS_SERVER_NAME: 'localhost',
    UVIS_HTTP_PORT: `127.0.0.1:${ports.http}`,
    UVIS_HTTPS_PORT: `127.0.0.1:${ports.https}`,
    UVIS_HTTPS_PORT_SUFFIX: `:${ports.https}`,
    UVIS_UPSTREAM: `127.0.0.1:${ports.upstream}`,
    UVIS_RESOLVER: '127.0.0.1',
    UVIS_TLS_CERT: join(dir, 'certs', 'fullchain.pem'),
    UVIS_TLS_KEY: join(dir, 'certs', 'privkey.pem'),
    UVIS_ACCESS_LOG: join(dir, 'access.log'),
  };
}

/** One plain HTTP request without following redirects. */
function httpGet(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * In front of UVIS: answers the two paths whose handling is nginx's business (a
 * fingerprinted asset without cache headers, an event stream that stays open) and
 * passes everything else to the live UVIS untouched.
 */
function upstreamShim(uvisPort: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/dashboard/assets/app-3f9a2c.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end('export const x = 1;\n'.repeat(200));
      return;
    }
    if (req.url === '/api/v1/dashboard/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('event: hello\ndata: {}\n\n');
      return; // stays open: the client must get the event now, not when the stream ends
    }
    const upstream = httpRequest({ host: '127.0.0.1', port: uvisPort, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('nginx configuration', () => {
  it('passes nginx -t, rendered as the nginx image renders it, with test certificates', async () => {
    const l = layout((dir) => values(dir, { http: 8080, https: 8443, upstream: 3000 }));
    try {
      const { code, output } = await run(NGINX, ['-t', '-c', l.conf, '-g', l.globals]);
      expect(code, output).toBe(0);
      expect(output).toContain('test is successful');
    } finally {
      rmSync(l.dir, { recursive: true, force: true });
    }
  });

  it('leaves no placeholder unrendered and keeps nginx variables', () => {
    const template = readFileSync(projectPath('nginx', 'templates', 'uvis.conf.template'), 'utf8');
    const rendered = renderTemplate(template, values('/x', { http: 80, https: 443, upstream: 3000 }));
    expect(rendered).not.toMatch(/\$\{/);
    expect(rendered).toContain('$request_uri');
    expect(rendered).toContain('proxy_pass http://$uvis_upstream;');
  });
});

describe('nginx in front of a live UVIS', () => {
  let uvis: TestUvis;
  let shim: Server;
  let nginx: Child;
  let l: Layout;
  let https: string;
  let http: string;
  let token: string;
  let uploads: string;

  beforeAll(async () => {
    uploads = mkdtempSync(join(tmpdir(), 'uvis-nginx-uploads-'));
    uvis = await startTestUvis({ role: 'api', env: { UPLOADS_DIR: uploads } });
    shim = await upstreamShim(uvis.running.port!);
    const ports = { http: await freePort(), https: await freePort(), upstream: (shim.address() as AddressInfo).port };
    l = layout((dir) => values(dir, ports));
    https = `https://localhost:${ports.https}`;
    http = `http://127.0.0.1:${ports.http}`;
    nginx = startChild(NGINX, ['-c', l.conf, '-g', `daemon off; ${l.globals}`]);
    await waitFor(async () => (await httpGet(`${http}/nginx-health`)).status === 200, { timeoutMs: 10_000, what: `nginx (${nginx.output()})` });
    const login = await httpsFetch(`${https}/api/v1/auth/login`, {
      ca: l.ca,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=test@example.com&password=testpass',
    });
    expect(login.status, login.body).toBe(200);
    token = JSON.parse(login.body).access_token;
  }, 60_000);

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((resolve) => shim?.close(resolve));
    await uvis?.stop();
    if (uploads) rmSync(uploads, { recursive: true, force: true });
    if (l) rmSync(l.dir, { recursive: true, force: true });
  });

  it('redirects HTTP to HTTPS, keeping the path and query', async () => {
    const res = await httpGet(`${http}/api/v1/orders?limit=5`);
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`${https}/api/v1/orders?limit=5`);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('proxies the API over TLS: sign-in (above) and an authenticated GET', async () => {
    const res = await httpsFetch(`${https}/api/v1/orders?limit=2`, { ca: l.ca, headers: { authorization: `Bearer ${token}` } });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).items.length).toBeGreaterThan(0);
    const anonymous = await httpsFetch(`${https}/api/v1/orders`, { ca: l.ca });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).error.code).toBeTruthy();
  });

  it('sends the seed security headers exactly once each, and the API page-specific CSP unchanged', async () => {
    const res = await httpsFetch(`${https}/api/v1/health`, { ca: l.ca });
    expect(res.status).toBe(200);
    const single = (name: string) => {
      const value = res.headers[name];
      expect(Array.isArray(value) ? value : [value], name).toHaveLength(1);
      return String(value);
    };
    expect(single('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(single('x-frame-options')).toBe('DENY');
    expect(single('x-content-type-options')).toBe('nosniff');
    expect(single('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(single('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.server).toBe('nginx');
    // /docs relaxes style-src for Swagger UI; nginx passes that page's CSP through.
    const docs = await httpsFetch(`${https}/docs/`, { ca: l.ca });
    expect(docs.status).toBe(200);
    expect(String(docs.headers['content-security-policy'])).toContain("style-src 'self' 'unsafe-inline'");
  });

  it("gives nginx's own answers a deny-all CSP and hides /metrics from the internet", async () => {
    const metrics = await httpsFetch(`${https}/metrics`, { ca: l.ca });
    expect(metrics.status).toBe(404);
    expect(metrics.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    expect(metrics.headers['strict-transport-security']).toBeTruthy();
    expect((await httpsFetch(`${https}/api/v1/metrics`, { ca: l.ca })).status).toBe(404);
  });

  it('hides /metrics in every spelling: case, trailing slash, sub-paths, %-encoding, doubled slashes', async () => {
    const variants = [
      '/metrics',
      '/METRICS',
      '/Metrics',
      '/metrics/',
      '/Metrics/x',
      '/metrics?x=1',
      '/api/v1/metrics',
      '/api/v1/Metrics',
      '/API/V1/METRICS',
      '/api/v1/metrics/',
      '/%6Detrics',
      '/api/v1/%4Detrics',
      '//metrics',
      '/api//v1/metrics',
    ];
    for (const path of variants) {
      const res = await httpsFetch(`${https}${path}`, { ca: l.ca });
      expect(res.status, path).toBe(404);
      // nginx's own 404 (deny-all CSP), never the API's text exposition.
      expect(res.body, path).not.toContain('# HELP');
      expect(res.headers['content-security-policy'], path).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    }
  });

  it('keeps a request id from the client, or makes one, and the API echoes it', async () => {
    const kept = await httpsFetch(`${https}/api/v1/health`, { ca: l.ca, headers: { 'x-request-id': 'trace-abc-123' } });
    expect(kept.headers['x-request-id']).toBe('trace-abc-123');
    const made = await httpsFetch(`${https}/api/v1/health`, { ca: l.ca });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    const line = readFileSync(join(l.dir, 'access.log'), 'utf8')
      .trim()
      .split('\n')
      .map((s) => JSON.parse(s))
      .find((e) => e.request_id === 'trace-abc-123');
    expect(line).toMatchObject({ service: 'nginx', uri: '/api/v1/health', status: 200 });
  });

  it('caches fingerprinted dashboard assets for a year (compressed), but never a missing one', async () => {
    const asset = await httpsFetch(`${https}/dashboard/assets/app-3f9a2c.js`, { ca: l.ca, headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-encoding']).toBe('gzip');
    const missing = await httpsFetch(`${https}/dashboard/assets/nothing-here.js`, { ca: l.ca });
    expect(missing.status).toBe(404);
    expect(String(missing.headers['cache-control'] ?? '')).not.toContain('immutable');
    // The API's own Cache-Control elsewhere is kept (sign-in answers must never be stored).
    const login = await httpsFetch(`${https}/api/v1/auth/login`, {
      ca: l.ca,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'test@example.com', password: 'testpass' }),
    });
    expect(login.headers['cache-control']).toBe('no-store');
  });

  it('streams server-sent events without buffering', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${https}/api/v1/dashboard/events`, { ca: l.ca, servername: 'localhost' }, (res) => {
        res.once('data', (chunk: Buffer) => {
          resolve(chunk.toString('utf8'));
          req.destroy();
        });
      });
      req.on('error', (err) => (err.message.includes('aborted') || err.message.includes('socket hang up') ? undefined : reject(err)));
      req.setTimeout(5000, () => reject(new Error('no event within 5 s: nginx buffers the stream')));
      req.end();
    });
    expect(first).toContain('event: hello');
  });
  it('limits unauthenticated routes per address (429 with Retry-After), leaving other addresses alone', async () => {
    // From addresses of their own (127.0.0.0/8 is all loopback), so the other tests' budget is untouched.
    const burst = await Promise.all(Array.from({ length: 60 }, () => httpsFetch(`${https}/api/v1/health`, { ca: l.ca, localAddress: '127.0.0.3' })));
    const refused = burst.filter((r) => r.status === 429);
    expect(refused.length, burst.map((r) => r.status).join(',')).toBeGreaterThan(0);
    expect(refused[0]!.headers['retry-after']).toBe('1');
    expect(burst.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(20);
    const refresh = await Promise.all(
      Array.from({ length: 60 }, () =>
        httpsFetch(`${https}/api/v1/auth/refresh`, {
          ca: l.ca,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"refresh_token":"x"}',
          localAddress: '127.0.0.3',
        }),
      ),
    );
    expect(refresh.some((r) => r.status === 429)).toBe(true);
    expect((await httpsFetch(`${https}/api/v1/health`, { ca: l.ca, localAddress: '127.0.0.4' })).status).toBe(200);
    // Signed-in routes are the API's per-user limit's business, not this zone's.
    const orders = await Promise.all(
      Array.from({ length: 40 }, () =>
        httpsFetch(`${https}/api/v1/orders?limit=1`, { ca: l.ca, headers: { authorization: `Bearer ${token}` }, localAddress: '127.0.0.3' }),
      ),
    );
    expect(orders.every((r) => r.status === 200)).toBe(true);
  });

  it("carries a driver's 1 MB proof photo through to the API (201), and refuses a body that size anywhere else (413)", async () => {
    const { dispatchId, driver } = await dispatchWithDriver(uvis.api, token);
    const jpeg = await noiseJpeg(1000, 800);
    expect(jpeg.length).toBeGreaterThan(512 * 1024); // past the 256 kB every other location allows
    const body = Buffer.concat([formHead({ kind: 'photo' }), jpeg, FORM_TAIL]);
    const upload = await httpsFetch(`${https}/api/v1/mobile/dispatches/${dispatchId}/proofs`, {
      ca: l.ca,
      method: 'POST',
      headers: { authorization: `Bearer ${driver.token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      body,
    });
    expect(upload.status, upload.body).toBe(201);
    expect(JSON.parse(upload.body)).toMatchObject({ dispatch_id: dispatchId, kind: 'photo' });
    const elsewhere = await httpsFetch(`${https}/api/v1/orders`, {
      ca: l.ca,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: `{"notes":"${'a'.repeat(300 * 1024)}"}`,
    });
    expect(elsewhere.status).toBe(413);
  });

  it('cuts off clients that dribble their headers or body (client_header_timeout, client_body_timeout)', () => {
    const conf = readFileSync(join(l.dir, 'conf.d', 'uvis.conf'), 'utf8');
    expect(conf).toMatch(/client_header_timeout 10s;/);
    expect(conf).toMatch(/client_body_timeout 10s;/);
  });
});
