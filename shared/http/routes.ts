/**
 * Every HTTP route, the Lambda function (route group) that serves it and how it is authorised.
 * The CDK stack, the local runner and the OpenAPI test all read this one list.
 */
export type RouteAuth = 'none' | 'bearer' | 'admin';

/**
 * Routes that check a secret or end sessions log one structured "auth outcome" line per request under this
 * action (shared/http/auth-outcome.ts): ok, failed, throttled, mfa_required, invalid_otp, reset_required,
 * reuse_detected, ...
 */
export type AuthAction =
  | 'login'
  | 'refresh'
  | 'logout'
  | 'revoke_all'
  | 'password_reset'
  | 'password_change'
  | 'mfa_setup'
  | 'mfa_confirm'
  | 'mfa_disable';

export type FunctionName =
  | 'accounts'
  | 'login'
  | 'sessions'
  | 'password'
  | 'mfa'
  | 'admin'
  | 'jwks'
  | 'sso'
  | 'pages'
  | 'oauth'
  | 'ssf';

export interface RouteDefinition {
  // PATCH and PUT for SSF 1.0 stream update and replace.
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';
  readonly path: string;
  readonly functionName: FunctionName;
  readonly auth: RouteAuth;
  /**
   * Honours the `Idempotency-Key` header (CONTRACT.md "Idempotent admin writes"): the same key with the same
   * request answers the first response again without running the handler; see shared/http/idempotency.ts.
   */
  readonly idempotent?: true;
  /** Logs one "auth outcome" line per request (see AuthAction). */
  readonly authAction?: AuthAction;
}

/**
 * `as const` keeps every route's method, path, group and auth as literal types, so each group's handler map
 * (shared/http/http-api.ts `RouteHandlers`) must name exactly its routes and its bearer routes get a principal.
 */
export const routes = [
  { method: 'POST', path: '/v1/accounts', functionName: 'accounts', auth: 'none' },
  { method: 'GET', path: '/v1/me', functionName: 'accounts', auth: 'bearer' },
  { method: 'GET', path: '/v1/me/security-events', functionName: 'accounts', auth: 'bearer' },
  { method: 'POST', path: '/v1/me/secure-account', functionName: 'accounts', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/login', functionName: 'login', auth: 'none', authAction: 'login' },
  { method: 'POST', path: '/v1/auth/refresh', functionName: 'login', auth: 'none', authAction: 'refresh' },
  { method: 'POST', path: '/v1/auth/logout', functionName: 'sessions', auth: 'bearer', authAction: 'logout' },
  { method: 'GET', path: '/v1/auth/session', functionName: 'sessions', auth: 'bearer' },
  { method: 'GET', path: '/v1/auth/sessions', functionName: 'sessions', auth: 'bearer' },
  { method: 'DELETE', path: '/v1/auth/sessions/{id}', functionName: 'sessions', auth: 'bearer' },
  {
    method: 'POST',
    path: '/v1/auth/revoke-all',
    functionName: 'sessions',
    auth: 'bearer',
    authAction: 'revoke_all',
  },
  { method: 'GET', path: '/.well-known/jwks.json', functionName: 'jwks', auth: 'none' },
  { method: 'GET', path: '/v1/auth/sso/providers', functionName: 'sso', auth: 'none' },
  { method: 'GET', path: '/v1/auth/sso/{id}/start', functionName: 'sso', auth: 'none' },
  { method: 'GET', path: '/v1/auth/sso/{id}/callback', functionName: 'sso', auth: 'none' },
  { method: 'POST', path: '/v1/auth/sso/exchange', functionName: 'sso', auth: 'none', authAction: 'login' },
  { method: 'POST', path: '/v1/auth/sso/{id}/link', functionName: 'sso', auth: 'bearer' },
  { method: 'GET', path: '/v1/me/sso-links', functionName: 'sso', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/password/forgot', functionName: 'password', auth: 'none' },
  {
    method: 'POST',
    path: '/v1/auth/password/reset',
    functionName: 'password',
    auth: 'none',
    authAction: 'password_reset',
  },
  {
    method: 'POST',
    path: '/v1/auth/password/change',
    functionName: 'password',
    auth: 'bearer',
    authAction: 'password_change',
  },
  {
    method: 'POST',
    path: '/v1/auth/mfa/totp/setup',
    functionName: 'mfa',
    auth: 'bearer',
    authAction: 'mfa_setup',
  },
  {
    method: 'POST',
    path: '/v1/auth/mfa/totp/confirm',
    functionName: 'mfa',
    auth: 'bearer',
    authAction: 'mfa_confirm',
  },
  {
    method: 'DELETE',
    path: '/v1/auth/mfa/totp',
    functionName: 'mfa',
    auth: 'bearer',
    authAction: 'mfa_disable',
  },
  { method: 'POST', path: '/v1/admin/users', functionName: 'admin', auth: 'admin', idempotent: true },
  { method: 'POST', path: '/v1/admin/users/import', functionName: 'admin', auth: 'admin', idempotent: true },
  {
    method: 'POST',
    path: '/v1/admin/users/{id}/force-reset',
    functionName: 'admin',
    auth: 'admin',
    idempotent: true,
  },
  { method: 'POST', path: '/v1/admin/incidents', functionName: 'admin', auth: 'admin', idempotent: true },
  { method: 'GET', path: '/v1/admin/incidents', functionName: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/admin/incidents/{id}', functionName: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/admin/incidents/{id}/cancel', functionName: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/admin/clients', functionName: 'admin', auth: 'admin', idempotent: true },
  { method: 'GET', path: '/v1/admin/clients', functionName: 'admin', auth: 'admin' },
  { method: 'DELETE', path: '/v1/admin/clients/{id}', functionName: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/admin/clients/{id}/rotate-secret', functionName: 'admin', auth: 'admin' },
  // OAuth 2.0 / OpenID Connect: the /oauth2 endpoints authenticate clients themselves (RFC 6749 2.3).
  { method: 'GET', path: '/.well-known/openid-configuration', functionName: 'oauth', auth: 'none' },
  { method: 'GET', path: '/.well-known/oauth-authorization-server', functionName: 'oauth', auth: 'none' },
  { method: 'GET', path: '/oauth2/authorize', functionName: 'oauth', auth: 'none' },
  { method: 'POST', path: '/oauth2/token', functionName: 'oauth', auth: 'none' },
  { method: 'POST', path: '/oauth2/device_authorization', functionName: 'oauth', auth: 'none' },
  { method: 'POST', path: '/oauth2/revoke', functionName: 'oauth', auth: 'none' },
  { method: 'POST', path: '/oauth2/introspect', functionName: 'oauth', auth: 'none' },
  { method: 'POST', path: '/v1/auth/authorize/complete', functionName: 'oauth', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/device/lookup', functionName: 'oauth', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/device/approve', functionName: 'oauth', auth: 'bearer' },
  { method: 'POST', path: '/v1/auth/device/deny', functionName: 'oauth', auth: 'bearer' },
  { method: 'POST', path: '/v1/admin/incidents/{id}/audience', functionName: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/admin/incidents/{id}/audience/close', functionName: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/admin/incidents/{id}/report', functionName: 'admin', auth: 'admin' },
  // Security events out (OpenID Shared Signals Framework 1.0): the receivers' ssf.manage client credentials
  // tokens are checked by the handler (shared/use-cases/signal-streams.ts), like the /oauth2 client checks.
  { method: 'GET', path: '/.well-known/ssf-configuration', functionName: 'ssf', auth: 'none' },
  { method: 'GET', path: '/ssf/jwks.json', functionName: 'ssf', auth: 'none' },
  { method: 'POST', path: '/ssf/streams', functionName: 'ssf', auth: 'none' },
  { method: 'GET', path: '/ssf/streams', functionName: 'ssf', auth: 'none' },
  { method: 'PATCH', path: '/ssf/streams', functionName: 'ssf', auth: 'none' },
  { method: 'PUT', path: '/ssf/streams', functionName: 'ssf', auth: 'none' },
  { method: 'DELETE', path: '/ssf/streams', functionName: 'ssf', auth: 'none' },
  { method: 'GET', path: '/ssf/status', functionName: 'ssf', auth: 'none' },
  { method: 'POST', path: '/ssf/status', functionName: 'ssf', auth: 'none' },
  { method: 'POST', path: '/ssf/verify', functionName: 'ssf', auth: 'none' },
  { method: 'POST', path: '/ssf/poll/{id}', functionName: 'ssf', auth: 'none' },
] as const satisfies readonly RouteDefinition[];

/** One JSON API route, with its literal method, path, group and auth. */
export type ApiRoute = (typeof routes)[number];

/** The route groups of the JSON API (the hosted pages have their own function, functions/pages.ts). */
export type ApiFunctionName = ApiRoute['functionName'];

/** API Gateway's route key (`POST /v1/auth/login`), as a type when the route's literals are known. */
export type RouteKey<R extends Pick<RouteDefinition, 'method' | 'path'>> = R extends unknown
  ? `${R['method']} ${R['path']}`
  : never;

/**
 * The hosted account pages (HTML and their assets), served on the API's own origin by functions/pages.ts. Kept
 * apart from `routes` because they are not JSON API operations (openapi.yaml documents the API only); the
 * gateway, the local runner and the stack serve both lists.
 */
export const pageRoutes: readonly RouteDefinition[] = [
  '/login',
  '/forgot-password',
  '/reset-password',
  '/security',
  '/security/report',
  '/device',
  '/assets/{file}',
].map((path) => ({ method: 'GET', path, functionName: 'pages', auth: 'none' }) as const);

/** Everything the HTTP API serves. */
export const allRoutes: readonly RouteDefinition[] = [...routes, ...pageRoutes];

export const routeKey = (route: Pick<RouteDefinition, 'method' | 'path'>): string =>
  `${route.method} ${route.path}`;
