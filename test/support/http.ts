/**
 * A small fetch wrapper for integration tests: `api(stack.apiUrl).post('/v1/auth/login', {login, password})`.
 * Objects are sent as JSON; a string body is sent as is (for malformed-JSON tests).
 */
export interface ApiResponse<T> {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body; undefined when the response has none (204) or is not JSON (see `text`). */
  readonly body: T;
  readonly text: string;
}

export interface RequestOptions {
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

type JsonObject = Record<string, unknown>;

export function api(baseUrl: string) {
  const request = async <T>(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    Object.assign(headers, options.headers);
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      // A test should fail with a clear timeout, not hang until jest gives up on it.
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let parsed: unknown;
    if (text && response.headers.get('content-type')?.includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  };
  return {
    get: <T = JsonObject>(path: string, options?: RequestOptions) =>
      request<T>('GET', path, undefined, options),
    post: <T = JsonObject>(path: string, body?: unknown, options?: RequestOptions) =>
      request<T>('POST', path, body, options),
    delete: <T = JsonObject>(path: string, body?: unknown, options?: RequestOptions) =>
      request<T>('DELETE', path, body, options),
    request: <T = JsonObject>(method: string, path: string, body?: unknown, options?: RequestOptions) =>
      request<T>(method, path, body, options),
  };
}
