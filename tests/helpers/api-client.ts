/** A small HTTP client for tests: real requests over the network, JSON in and out. */

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  json?: unknown;
  form?: Record<string, string>;
  body?: string | Buffer | Uint8Array;
  headers?: Record<string, string>;
}

export const DEMO_ADMIN = { email: 'test@example.com', password: 'testpass' };
export const DEMO_DISPATCHER = { email: 'dispatcher@example.com', password: 'dispatchpass' };
export const DEMO_DRIVER2 = { email: 'driver2@example.com', password: 'driverpass' };
export const DEMO_DRIVER3 = { email: 'driver3@example.com', password: 'driverpass' };

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | Uint8Array | undefined;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : new Uint8Array(options.body);
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('json') && text) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, token?: string) {
    return this.request<T>('GET', path, { token });
  }

  post<T = any>(path: string, json: unknown, token?: string, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { json, token, headers });
  }

  /** Signs in with the seed's form body and returns the access token. */
  async login(account: { email: string; password: string } = DEMO_ADMIN): Promise<string> {
    const res = await this.request('POST', '/api/v1/auth/login', { form: { username: account.email, password: account.password } });
    if (res.status !== 200) throw new Error(`login failed for ${account.email}: ${res.status} ${res.text}`);
    return res.body.access_token;
  }
}

/** Polls until check returns a truthy value, or fails after timeoutMs: never a fixed sleep. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
