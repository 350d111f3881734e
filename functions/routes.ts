/**
 * Every HTTP route, the Lambda function (route group) that serves it and how it is authorised.
 * The CDK stack, the local runner and the OpenAPI test all read this one list.
 */
export type RouteAuth = 'none' | 'bearer' | 'admin';

export type FunctionName = 'accounts' | 'login' | 'sessions' | 'password' | 'mfa' | 'admin' | 'jwks';

export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly functionName: FunctionName;
  readonly auth: RouteAuth;
  /** Largest request body the route takes; the contract's 16 KiB when absent. */
  readonly maxBodyBytes?: number;
}

/** Bulk admin uploads (audience chunks) take up to 1 MiB, well inside API Gateway's 10 MB payload limit. */
const BULK_BODY_BYTES = 1024 * 1024;

export const routes: readonly RouteDefinition[] = [
  { method: 'POST', path: '/v1/accounts', functionName: 'accounts', auth: 'none' },
  { method: 'GET', path: '/v1/me', functionName: 'accounts', auth: 'bearer' },
  { method: 'GET', path: '/v1/me/security-events', functionName: 'accounts', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/login', functionName: 'login', auth: 'none' },
  { method: 'POST', path: '/v1/auth/refresh', functionName: 'login', auth: 'none' },
  { method: 'POST', path: '/v1/auth/logout', functionName: 'sessions', auth: 'bearer' },
  { method: 'GET', path: '/v1/auth/session', functionName: 'sessions', auth: 'bearer' },
  { method: 'GET', path: '/v1/auth/sessions', functionName: 'sessions', auth: 'bearer' },
  { method: 'DELETE', path: '/v1/auth/sessions/{id}', functionName: 'sessions', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/revoke-all', functionName: 'sessions', auth: 'bearer' },
  { method: 'GET', path: '/.well-known/jwks.json', functionName: 'jwks', auth: 'none' },
  { method: 'POST', path: '/v1/auth/password/forgot', functionName: 'password', auth: 'none' },
  { method: 'POST', path: '/v1/auth/password/reset', functionName: 'password', auth: 'none' },
  { method: 'POST', path: '/v1/auth/password/change', functionName: 'password', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/mfa/totp/setup', functionName: 'mfa', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/mfa/totp/confirm', functionName: 'mfa', auth: 'bearer' },
  { method: 'DELETE', path: '/v1/auth/mfa/totp', functionName: 'mfa', auth: 'bearer' },
  { method: 'POST', path: '/v1/admin/users', functionName: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/admin/users/{id}/force-reset', functionName: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/admin/incidents', functionName: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/admin/incidents', functionName: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/admin/incidents/{id}', functionName: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/admin/incidents/{id}/cancel', functionName: 'admin', auth: 'admin' },
  {
    method: 'POST',
    path: '/v1/admin/incidents/{id}/audience',
    functionName: 'admin',
    auth: 'admin',
    maxBodyBytes: BULK_BODY_BYTES,
  },
  { method: 'POST', path: '/v1/admin/incidents/{id}/audience/close', functionName: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/admin/incidents/{id}/report', functionName: 'admin', auth: 'admin' },
];

export const routeKey = (route: Pick<RouteDefinition, 'method' | 'path'>): string =>
  `${route.method} ${route.path}`;
