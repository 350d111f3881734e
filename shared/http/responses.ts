import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Sent on every response, errors included (contract: no caching, HSTS, nosniff, frame deny). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

export interface HttpResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Set-Cookie values (payload 2.0 `cookies`). */
  readonly cookies?: readonly string[];
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  status,
  body,
  headers,
});

export const noContent = (): HttpResult => ({ status: 204 });

/** 302 for browser navigations (the SSO start and callback routes). */
export const redirect = (location: string, cookies: readonly string[] = []): HttpResult => ({
  status: 302,
  headers: { location },
  cookies,
});

export function toApiGatewayResult(result: HttpResult): APIGatewayProxyStructuredResultV2 {
  const hasBody = result.body !== undefined && result.status !== 204;
  return {
    statusCode: result.status,
    headers: {
      ...SECURITY_HEADERS,
      ...(hasBody ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      ...result.headers,
    },
    ...(hasBody ? { body: JSON.stringify(result.body) } : {}),
    ...(result.cookies && result.cookies.length > 0 ? { cookies: [...result.cookies] } : {}),
  };
}
