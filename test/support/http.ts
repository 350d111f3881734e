import { request as httpRequest } from 'node:http';

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

type SendRequest = <T>(
  method: string,
  path: string,
  body: unknown,
  options?: RequestOptions,
) => Promise<ApiResponse<T>>;

/** The client's methods over one way of sending a request (fetch, or a socket from a chosen address). */
function withMethods(request: SendRequest) {
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
  return withMethods(request);
}

/**
 * Like `api`, but every request leaves from `localAddress` (any of 127.0.0.0/8): the local API server takes
 * the socket address as the source IP, so a test can act as several networks at once.
 */
export function apiFrom(baseUrl: string, localAddress: string) {
  const request = <T>(
    method: string,
    path: string,
    body: unknown,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { ...options.headers };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(payload));
      }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      const req = httpRequest(
        `${baseUrl}${path}`,
        { method, headers, localAddress, agent: false, timeout: 15_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') responseHeaders.set(name, value);
            }
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: parsed as T, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  return withMethods(request);
}
