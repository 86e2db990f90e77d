/**
 * The simulator's HTTP client: JSON over fetch, a bearer token or a gateway key,
 * an Idempotency-Key on every POST and PUT (the same key on every retry of one call),
 * and retries with backoff on 429, 503, other 5xx and network errors (after
 * Retry-After when the server sends one).
 */
import { randomUUID } from 'node:crypto';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string } & Record<string, unknown>,
    what: string,
  ) {
    super(`${what}: ${status} ${body.error ?? ''} ${body.message ?? ''}`.trim());
  }
}

export interface Auth {
  token?: string;
  apiKey?: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class Http {
  /** Retried answers, by status (or "network"): shown in the summary. */
  readonly retries: Record<string, number> = {};

  constructor(
    readonly base: string,
    private readonly runId = randomUUID().slice(0, 8),
    private readonly maxAttempts = 8,
  ) {}

  private seq = 0;
  /** A fresh Idempotency-Key, unique to this run. */
  key(what: string): string {
    return `sim-${this.runId}-${what}-${++this.seq}`;
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, auth: Auth, body?: unknown, form = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (auth.token) headers.authorization = `Bearer ${auth.token}`;
    if (auth.apiKey) headers['x-api-key'] = auth.apiKey;
    if (body !== undefined) headers['content-type'] = form ? 'application/x-www-form-urlencoded' : 'application/json';
    if ((method === 'POST' || method === 'PUT') && !path.startsWith('/api/v1/auth/')) headers['idempotency-key'] = this.key(method.toLowerCase());
    const payload = body === undefined ? undefined : form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body);
    let delay = 500;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.base}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(15_000) });
      } catch (err) {
        if (attempt >= this.maxAttempts) throw err;
        this.retries.network = (this.retries.network ?? 0) + 1;
        await sleep(delay);
        delay = Math.min(delay * 2, 10_000);
        continue;
      }
      const text = await res.text();
      const json = text ? (JSON.parse(text) as T & Record<string, unknown>) : ({} as T & Record<string, unknown>);
      if (res.ok) return json;
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || attempt >= this.maxAttempts) throw new HttpError(res.status, json, `${method} ${path}`);
      this.retries[res.status] = (this.retries[res.status] ?? 0) + 1;
      const after = Number(res.headers.get('retry-after'));
      // Jitter, so trucks refused together do not come back together.
      await sleep((Number.isFinite(after) && after > 0 ? after * 1000 : delay) * (0.8 + Math.random() * 0.4));
      delay = Math.min(delay * 2, 10_000);
    }
  }

  async login(email: string, password: string): Promise<string> {
    const r = await this.request<{ access_token: string }>('POST', '/api/v1/auth/login', {}, { username: email, password }, true);
    return r.access_token;
  }
}

export { sleep };
