import { errorFrom } from './errors.js';

export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken: string;
}

export interface TokenManagerOptions {
  /** The API origin, e.g. `https://api.example.com`. */
  readonly baseUrl: string;
  readonly tokens: TokenSet;
  /**
   * How to refresh: `'json'` for first-party apps signed in with `POST /v1/auth/login` (uses
   * `POST /v1/auth/refresh`), or the OAuth client the tokens were issued to (uses `POST /oauth2/token`).
   * @default 'json'
   */
  readonly refreshWith?: 'json' | { readonly clientId: string; readonly clientSecret?: string };
  /** Called with every new pair: persist it, since the old refresh token stops working. */
  readonly onTokens?: (tokens: TokenSet) => void | Promise<void>;
  /** 429/503 with a `retry-after` up to this many seconds are retried once after waiting. @default 5 */
  readonly maxRetryAfterSeconds?: number;
  readonly fetch?: typeof fetch;
}

/**
 * Keeps an access token fresh for one session. Refreshes are single-flight: however many requests find the
 * token expired at once, exactly one refresh call is made and all of them wait for it (two concurrent
 * refreshes with the same refresh token would otherwise look like token theft and end the session).
 */
export class TokenManager {
  private tokens: TokenSet;
  private inFlight: Promise<TokenSet> | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly baseUrl: string;

  constructor(private readonly options: TokenManagerOptions) {
    this.tokens = options.tokens;
    this.fetchImpl = options.fetch ?? fetch;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  get current(): TokenSet {
    return this.tokens;
  }

  /** Refreshes now (joining a refresh already in flight). */
  refresh(): Promise<TokenSet> {
    this.inFlight ??= this.doRefresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async doRefresh(): Promise<TokenSet> {
    const used = this.tokens.refreshToken;
    const mode = this.options.refreshWith ?? 'json';
    let response: Response;
    if (mode === 'json') {
      response = await this.fetchImpl(`${this.baseUrl}/v1/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: used }),
      });
    } else {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: used,
        client_id: mode.clientId,
      });
      if (mode.clientSecret !== undefined) form.set('client_secret', mode.clientSecret);
      response = await this.fetchImpl(`${this.baseUrl}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    }
    if (!response.ok) throw await errorFrom(response);
    const body = (await response.json()) as Record<string, unknown>;
    const next: TokenSet =
      mode === 'json'
        ? { accessToken: String(body['accessToken']), refreshToken: String(body['refreshToken']) }
        : { accessToken: String(body['access_token']), refreshToken: String(body['refresh_token']) };
    this.tokens = next;
    await this.options.onTokens?.(next);
    return next;
  }

  /**
   * fetch with `authorization: Bearer`. A 401 refreshes once (single-flight) and retries once; a 429/503 with
   * a short `retry-after` waits and retries once. Any other failure is an AccountShieldError with its code.
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const send = (token: string) =>
      this.fetchImpl(`${this.baseUrl}${path}`, {
        ...init,
        headers: {
          ...(init.headers as Record<string, string> | undefined),
          authorization: `Bearer ${token}`,
        },
      });
    const tokenUsed = this.tokens.accessToken;
    let response = await send(tokenUsed);
    if (response.status === 401) {
      // Another request may have refreshed already while this one was in flight: use its token.
      const fresh = this.tokens.accessToken !== tokenUsed ? this.tokens : await this.refresh();
      response = await send(fresh.accessToken);
    }
    if (response.status === 429 || response.status === 503) {
      const wait = Number(response.headers.get('retry-after'));
      if (Number.isFinite(wait) && wait > 0 && wait <= (this.options.maxRetryAfterSeconds ?? 5)) {
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        response = await send(this.tokens.accessToken);
      }
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /** fetch + JSON, typed by the caller; 204 gives undefined. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.fetch(path, init);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}
