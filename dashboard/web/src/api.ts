/**
 * Calls to /api/v1 with the bearer token. Tokens live in sessionStorage (one sign-in
 * per tab, gone when the tab closes) and go out only in the Authorization header, so
 * the API needs no cookies and offers no CSRF surface. An expired access token is
 * refreshed once (shared by concurrent calls) and the call retried; when the refresh
 * fails too, the page returns to the sign-in form.
 */

export interface ApiErrorBody {
  code: string;
  message: string;
  details: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

/** The network failed (offline, server gone): distinct from an answer the server gave. */
export class NetworkError extends Error {}

interface Tokens {
  access: string;
  refresh: string;
}

const STORE_KEY = 'uvis.dashboard.tokens';
let tokens: Tokens | undefined = load();
let refreshing: Promise<boolean> | undefined;
const signedOutListeners = new Set<(reason: 'expired' | 'signed_out') => void>();

function load(): Tokens | undefined {
  try {
    const raw = sessionStorage.getItem(STORE_KEY);
    return raw ? (JSON.parse(raw) as Tokens) : undefined;
  } catch {
    return undefined;
  }
}

function store(next: Tokens | undefined): void {
  tokens = next;
  try {
    if (next) sessionStorage.setItem(STORE_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(STORE_KEY);
  } catch {
    // Storage refused: the sign-in lasts until the page is reloaded.
  }
}

export function hasTokens(): boolean {
  return tokens !== undefined;
}

export function accessToken(): string | undefined {
  return tokens?.access;
}

export function onSignedOut(listener: (reason: 'expired' | 'signed_out') => void): void {
  signedOutListeners.add(listener);
}

function signedOut(reason: 'expired' | 'signed_out'): void {
  store(undefined);
  for (const listener of signedOutListeners) listener(reason);
}

async function parseError(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: ApiErrorBody };
    if (body.error) return new ApiError(res.status, body.error.code, body.error.message, body.error.details);
  } catch {
    // Not our JSON (a proxy's error page).
  }
  return new ApiError(res.status, 'http_error', `HTTP ${res.status}`);
}

async function send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  const init: RequestInit = { method, headers: { Accept: 'application/json', ...headers }, cache: 'no-store', credentials: 'omit' };
  if (tokens) (init.headers as Record<string, string>).Authorization = `Bearer ${tokens.access}`;
  if (body !== undefined) {
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(`/api/v1${path}`, init);
  } catch (err) {
    throw new NetworkError(err instanceof Error ? err.message : String(err));
  }
}

/** Exchanges the refresh token for new tokens; false when the session is over. */
export function refreshTokens(): Promise<boolean> {
  refreshing ??= (async () => {
    const refresh = tokens?.refresh;
    if (!refresh) return false;
    try {
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ refresh_token: refresh }),
        cache: 'no-store',
        credentials: 'omit',
      });
      if (!res.ok) {
        // A 5xx or 429 is not the end of the session; a 401 is.
        if (res.status === 401) signedOut('expired');
        return false;
      }
      const body = (await res.json()) as { access_token: string; refresh_token: string };
      store({ access: body.access_token, refresh: body.refresh_token });
      return true;
    } catch {
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  let res = await send(method, path, body, headers);
  if (res.status === 401 && tokens) {
    if (await refreshTokens()) res = await send(method, path, body, headers);
    // The refresh itself failed for a passing reason (5xx, network): keep the session, fail this call.
    else if (tokens) throw new ApiError(503, 'refresh_failed', 'could not renew the session; try again');
    else throw new ApiError(401, 'session_ended', 'session ended');
  }
  if (res.status === 401) {
    signedOut('expired');
    throw await parseError(res);
  }
  if (!res.ok) throw await parseError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A file behind the bearer token (an image for an <img>, which cannot send the header itself), refreshed once like api(). */
export async function apiBlob(path: string): Promise<Blob> {
  let res = await send('GET', path, undefined, { Accept: '*/*' });
  if (res.status === 401 && tokens && (await refreshTokens())) res = await send('GET', path, undefined, { Accept: '*/*' });
  if (!res.ok) throw await parseError(res);
  return res.blob();
}

export async function signIn(email: string, password: string): Promise<void> {
  const res = await send('POST', '/auth/login', { username: email, password }, {});
  if (!res.ok) throw await parseError(res);
  const body = (await res.json()) as { access_token: string; refresh_token: string };
  store({ access: body.access_token, refresh: body.refresh_token });
}

export async function signOut(): Promise<void> {
  // Through api(): an access token that expired while the tab slept is renewed first, so
  // the server ends the session (and its refresh token) instead of refusing with 401.
  if (tokens) await api('POST', '/auth/logout').catch(() => undefined);
  if (tokens) signedOut('signed_out');
}

/** An Idempotency-Key for one submission: a retried request creates nothing new. */
export function newIdempotencyKey(): string {
  // randomUUID needs a secure context; plain http on a LAN address is not one.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
