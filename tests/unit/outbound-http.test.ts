/**
 * Outgoing-request safety (DESIGN.md "Shippers"): with the production configuration a webhook
 * cannot reach loopback, private, link-local or metadata addresses, by literal or by a name that
 * resolves to one (checked at connection time; the DNS answer comes from an injected resolver, not
 * the network). The same requests succeed where the policy allows them, so each refusal is the
 * policy's doing. No redirects are followed, and an endless body is cut at the bound.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyAddress } from '../../lib/address-guard.js';
import { loadConfig } from '../../lib/config.js';
import { OutboundError, postJson, type OutboundOptions, type Resolver } from '../../lib/outbound-http.js';

const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  JWT_SECRET: 'Zq8vN3xK1pL7sR4tW9yB2cF6hJ0mQ5dG8aE3uI7oP1',
  METRICS_TOKEN: 'metrics-token-4f7c1e9a0b2d',
  WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
};
const production = loadConfig(PRODUCTION_ENV).webhooks;

let server: Server;
let port: number;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere` });
      return res.end();
    }
    if (req.url === '/endless') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      return pump();
    }
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const resolveTo =
  (address: string): Resolver =>
  async () => [{ address, family: address.includes(':') ? 6 : 4 }];

function options(overrides: Partial<OutboundOptions> = {}): OutboundOptions {
  return {
    policy: { allowPrivate: production.allowPrivate, allowedHosts: production.allowedHosts },
    timeoutMs: 2000,
    maxResponseBytes: 4096,
    ...overrides,
  };
}

async function refusal(url: string, opts: OutboundOptions): Promise<OutboundError> {
  const before = hits;
  const err = await postJson(url, '{}', {}, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, url).toBeInstanceOf(OutboundError);
  expect((err as OutboundError).kind, url).toBe('refused');
  expect(hits, `${url} reached the server`).toBe(before);
  return err as OutboundError;
}

describe('outgoing webhook requests', () => {
  it('production refuses private targets by default and refuses to allow them', () => {
    expect(production.allowPrivate).toBe(false);
    expect(() => loadConfig({ ...PRODUCTION_ENV, WEBHOOK_ALLOW_PRIVATE: 'true' })).toThrow(/WEBHOOK_ALLOW_PRIVATE: refused in production/);
    const { WEBHOOK_SECRET_KEY: _, ...withoutKey } = PRODUCTION_ENV;
    expect(() => loadConfig(withoutKey)).toThrow(/WEBHOOK_SECRET_KEY: required in production/);
    expect(() => loadConfig({ WEBHOOK_SECRET_KEY: 'too-short' })).toThrow(/WEBHOOK_SECRET_KEY: must be 32 bytes/);
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: '5s,soon' })).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
    expect(loadConfig({ NODE_ENV: 'test' }).webhooks).toMatchObject({
      allowPrivate: true,
      timeoutMs: 15_000,
      retryScheduleMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
    });
  });

  it('refuses loopback, private, link-local and metadata addresses, by literal and by name, in production', async () => {
    await refusal(`http://127.0.0.1:${port}/`, options());
    await refusal(`http://[::ffff:127.0.0.1]:${port}/`, options());
    await refusal('http://10.1.2.3/', options());
    await refusal('http://169.254.169.254/latest/meta-data/', options());
    // localhost goes through the system's resolver (/etc/hosts, no network) and is refused at connection time.
    await refusal(`http://localhost:${port}/`, options());
    // A public-looking name that resolves to a private or loopback address (DNS rebinding).
    const rebinding = await refusal(`http://hooks.shipper.test:${port}/`, options({ resolver: resolveTo('127.0.0.1') }));
    // Refused by the guard (not a connection error), without naming the address the name resolved to.
    expect(rebinding.message).toContain('hooks.shipper.test: not a public address');
    expect(rebinding.message).not.toContain('127.0.0.1');
    expect((await refusal('http://hooks.shipper.test/', options({ resolver: resolveTo('10.0.0.7') }))).message).toContain('not a public address');
    // A name with one public and one private answer is refused too.
    await refusal(
      `http://mixed.shipper.test:${port}/`,
      options({
        resolver: async () => [
          { address: '93.184.216.34', family: 4 },
          { address: '127.0.0.1', family: 4 },
        ],
      }),
    );
    await refusal('ftp://example.com/', options());
  });

  it('reaches the same receiver where the policy allows it (so the refusals above are the policy)', async () => {
    expect((await postJson(`http://127.0.0.1:${port}/`, '{}', {}, options({ policy: { allowPrivate: true, allowedHosts: [] } }))).status).toBe(200);
    const allowedHost = options({ policy: { allowPrivate: false, allowedHosts: ['hooks.internal.test'] }, resolver: resolveTo('127.0.0.1') });
    expect((await postJson(`http://hooks.internal.test:${port}/`, '{}', {}, allowedHost)).status).toBe(200);
    // Metadata stays refused even where private addresses are allowed.
    await refusal('http://169.254.169.254/', options({ policy: { allowPrivate: true, allowedHosts: [] } }));
  });

  it('follows no redirect and reads at most the bound of an endless body', async () => {
    const allow = options({ policy: { allowPrivate: true, allowedHosts: [] } });
    const before = hits;
    const redirected = await postJson(`http://127.0.0.1:${port}/redirect`, '{}', {}, allow);
    expect(redirected.status).toBe(302);
    expect(hits - before).toBe(1);
    const endless = await postJson(`http://127.0.0.1:${port}/endless`, '{}', {}, allow);
    expect(endless.status).toBe(200);
    expect(endless.body.length).toBe(4096);
  });

  it('classifies addresses, IPv4-mapped IPv6 included', () => {
    expect(classifyAddress('8.8.8.8')).toBe('public');
    expect(classifyAddress('::ffff:10.0.0.1')).toBe('private');
    expect(classifyAddress('::ffff:7f00:1')).toBe('loopback');
    expect(classifyAddress('0.0.0.0')).toBe('loopback');
    expect(classifyAddress('fe80::1')).toBe('link-local');
    expect(classifyAddress('fd00:ec2::254')).toBe('metadata');
    expect(classifyAddress('172.31.255.255')).toBe('private');
    expect(classifyAddress('172.32.0.1')).toBe('public');
  });
});
