/**
 * Just enough of a browser for redirect-based sign-in tests: follows redirects by hand, keeps cookies per host
 * (like a browser, whatever the port) with their paths and expiry, and submits HTML forms.
 */
interface StoredCookie {
  readonly value: string;
  readonly path: string;
  readonly expiresAtMs: number | undefined;
}

export interface PageResponse {
  readonly status: number;
  readonly url: string;
  readonly location: string | undefined;
  readonly headers: Headers;
  readonly text: string;
}

export class TestBrowser {
  private readonly jar = new Map<string, Map<string, StoredCookie>>();

  /** Cookie names this browser holds for a host (for assertions). */
  cookieNames(host: string): string[] {
    return [...(this.jar.get(host)?.keys() ?? [])];
  }

  private cookieHeader(url: URL): string | undefined {
    const now = Date.now();
    const pairs: string[] = [];
    for (const [name, cookie] of this.jar.get(url.hostname) ?? []) {
      if (cookie.expiresAtMs !== undefined && cookie.expiresAtMs <= now) continue;
      if (!url.pathname.startsWith(cookie.path)) continue;
      pairs.push(`${name}=${cookie.value}`);
    }
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  private store(url: URL, setCookies: readonly string[]): void {
    for (const header of setCookies) {
      const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
      const index = pair.indexOf('=');
      if (index <= 0) continue;
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      let path = url.pathname.replace(/\/[^/]*$/, '/') || '/';
      let expiresAtMs: number | undefined;
      for (const attribute of attributes) {
        const [key = '', attributeValue = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = attributeValue || '/';
        if (key.toLowerCase() === 'max-age') expiresAtMs = Date.now() + Number(attributeValue) * 1000;
        if (key.toLowerCase() === 'expires' && expiresAtMs === undefined)
          expiresAtMs = Date.parse(attributeValue);
      }
      const cookies = this.jar.get(url.hostname) ?? new Map<string, StoredCookie>();
      if (expiresAtMs !== undefined && expiresAtMs <= Date.now()) cookies.delete(name);
      else cookies.set(name, { value, path, expiresAtMs });
      this.jar.set(url.hostname, cookies);
    }
  }

  /** One request, no redirect followed. */
  async request(
    method: 'GET' | 'POST',
    target: string,
    form?: Record<string, string>,
    extraHeaders: Record<string, string> = {},
  ): Promise<PageResponse> {
    const url = new URL(target);
    const headers: Record<string, string> = { ...extraHeaders };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method,
      headers,
      body: form ? new URLSearchParams(form).toString() : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
    this.store(url, response.headers.getSetCookie());
    const location = response.headers.get('location') ?? undefined;
    return {
      status: response.status,
      url: url.href,
      location: location === undefined ? undefined : new URL(location, url).href,
      headers: response.headers,
      text: await response.text(),
    };
  }

  /**
   * Follows redirects from `target` until a response that is not a redirect, or a redirect to a URL for which
   * `stopAt` is true (the app's /login page, which does not exist in tests).
   */
  async navigate(
    target: string,
    stopAt: (url: string) => boolean,
    form?: Record<string, string>,
  ): Promise<PageResponse> {
    let response = await this.request(form ? 'POST' : 'GET', target, form);
    for (let hops = 0; hops < 20; hops++) {
      if (response.status < 300 || response.status >= 400 || !response.location) return response;
      if (stopAt(response.location)) return response;
      response = await this.request('GET', response.location);
    }
    throw new Error(`too many redirects from ${target}`);
  }
}
