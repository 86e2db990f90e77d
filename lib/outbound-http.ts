/**
 * The one way UVIS sends an HTTP request to an address a user chose (webhook endpoints). Each
 * request: http or https only; the address checked when the socket connects (lib/address-guard.ts),
 * after DNS, so rebinding cannot slip past; redirects never followed (a 3xx is a failed attempt,
 * not a second request to wherever it points); one deadline for connecting, sending and reading;
 * the response body read up to a small bound and then dropped. Built on node:http, whose
 * connect-time `lookup` hook is the check's natural place; keep-alive agents reuse only sockets
 * that passed it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { addressRefusal, type AddressPolicy } from './address-guard.js';

/** Resolves a host name to its addresses; tests inject one instead of asking the network. */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export interface OutboundOptions {
  policy: AddressPolicy;
  timeoutMs: number;
  /** Bytes of the response body kept (for the delivery log); the rest is not read. */
  maxResponseBytes: number;
  resolver?: Resolver;
}

export type OutboundFailure = 'refused' | 'timeout' | 'network';

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundResponse {
  status: number;
  /** The first maxResponseBytes of the body, as text. */
  body: string;
}

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** Checks the URL's scheme and, for a literal IP host (which never goes through DNS), its address. */
export function urlRefusal(policy: AddressPolicy, raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return addressRefusal(policy, host, host);
  return undefined;
}

/** A socket lookup that resolves with `resolver` and refuses any address the policy does not allow. */
function guardedLookup(policy: AddressPolicy, resolver: Resolver): LookupFunction {
  return (host, options, callback) => {
    resolver(host).then(
      (addresses) => {
        // Only if every address is allowed: a mixed answer is how rebinding attacks look.
        const refusal =
          addresses.length === 0 ? `${host} has no address` : addresses.map((a) => addressRefusal(policy, host, a.address)).find((r) => r !== undefined);
        if (refusal) return callback(new OutboundError('refused', refusal), '', 0);
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        const first = addresses.find((a) => !options.family || a.family === options.family) ?? addresses[0]!;
        callback(null, first.address, first.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}

/** POSTs `body` to `url`; resolves with any HTTP answer, rejects with OutboundError when there is none. */
export function postJson(url: string, body: string, headers: Record<string, string>, options: OutboundOptions): Promise<OutboundResponse> {
  const refusal = urlRefusal(options.policy, url);
  if (refusal) return Promise.reject(new OutboundError('refused', refusal));
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const signal = AbortSignal.timeout(options.timeoutMs);
  return new Promise<OutboundResponse>((resolve, reject) => {
    const fail = (err: unknown) => {
      if (err instanceof OutboundError) return reject(err);
      if (signal.aborted) return reject(new OutboundError('timeout', `no complete answer within ${options.timeoutMs} ms`));
      const e = err as NodeJS.ErrnoException;
      // The lookup's refusal may arrive wrapped by net's happy-eyeballs attempt.
      const inner = (e as { cause?: unknown }).cause;
      if (inner instanceof OutboundError) return reject(inner);
      reject(new OutboundError('network', e.code ? `${e.code}: ${e.message}` : e.message));
    };
    const req = transport.request(
      target,
      {
        method: 'POST',
        agent: agents[target.protocol as 'http:' | 'https:'],
        lookup: guardedLookup(options.policy, options.resolver ?? systemResolver),
        signal,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'UVIS-Webhooks/1',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < options.maxResponseBytes) {
            chunks.push(chunk.subarray(0, options.maxResponseBytes - kept));
            kept += Math.min(chunk.length, options.maxResponseBytes - kept);
          }
          // Enough for the log: stop reading instead of pulling an endless body.
          if (kept >= options.maxResponseBytes) res.destroy();
        });
        const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        res.on('end', done);
        res.on('close', done);
        res.on('error', (err) => (kept >= options.maxResponseBytes ? done() : fail(err)));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}
