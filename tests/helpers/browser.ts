/** A minimal browser for tests: a cookie jar over fetch, no redirects followed unless asked. */

export class CookieBrowser {
  readonly cookies = new Map<string, string>();
  readonly setCookieHeaders: string[] = [];

  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, options: { form?: Record<string, string>; headers?: Record<string, string>; json?: unknown } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      this.setCookieHeaders.push(cookie);
      const [pair] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      const joined = value.join('=');
      if (joined === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), joined);
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
  }

  /** The XSRF token a page script would send back as X-XSRF-TOKEN. */
  get xsrf(): string {
    return decodeURIComponent(this.cookies.get('XSRF-TOKEN') ?? '');
  }

  /** Signs in through the operator login form, as a person would. */
  async signIn(email: string, password: string) {
    const page = await this.request('GET', '/admin/login');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    return this.request('POST', '/admin/login', { form: { _csrf: csrf, username: email, password, next: '/admin/queues' } });
  }
}
