import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import type { RequestOrigin } from '../domain/security-event.js';
import { ForbiddenError, InvalidTokenError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import { runInvocation } from '../logging.js';
import { authenticate, type Principal } from '../use-cases/authenticate.js';
import type { Deps } from '../use-cases/deps.js';
import { authOutcome } from './auth-outcome.js';
import { type ErrorLogger, errorToHttpResult } from './error-response.js';
import { idempotencyKeyOf, runIdempotent } from './idempotency.js';
import { MAX_BODY_BYTES, parseFormBody, parseJsonBody } from './request-body.js';
import { requestMetrics } from './request-metrics.js';
import { type HttpResult, toApiGatewayResult } from './responses.js';
import type { ApiFunctionName, ApiRoute, RouteAuth, RouteDefinition, RouteKey } from './routes.js';
import { routeKey, routes } from './routes.js';

export interface HttpRequest<Body, Caller extends Principal | undefined = Principal | undefined> {
  readonly body: Body;
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
  /** Query parameters (repeated ones joined by commas, as API Gateway does) and the raw query string. */
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly rawQueryString: string;
  /** Request cookies by name (the first of duplicates). */
  readonly cookies: Readonly<Record<string, string>>;
  readonly origin: RequestOrigin;
  /** The signed-in caller on bearer routes; undefined elsewhere (admin callers are checked by IAM). */
  readonly principal: Caller;
  /** Lower-cased header names; the OAuth endpoints read client credentials from `authorization`. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** Bearer routes always have a principal (authorise() refused the request otherwise); no other route has one. */
type CallerOf<A extends RouteAuth> = A extends 'bearer' ? Principal : undefined;

export interface RouteHandler<
  S extends z.ZodType | undefined = z.ZodType | undefined,
  A extends RouteAuth = RouteAuth,
> {
  /** Schema of the JSON body; routes without one ignore any body (within the size limit). */
  readonly body?: S;
  /** Body size limit of this route; the contract's 16 KiB unless a route (bulk import) needs more. */
  readonly maxBodyBytes?: number;
  /** The body is form-encoded (the OAuth endpoints) rather than JSON; `body` then validates its fields. */
  readonly form?: true;
  handle(
    request: HttpRequest<S extends z.ZodType ? z.infer<S> : undefined, CallerOf<A>>,
    deps: Deps,
  ): Promise<HttpResult>;
}

declare const authOfRoute: unique symbol;

/** A route's handler with its body type sealed in, marked (in types only) with the auth it was written for. */
export interface BoundRouteHandler<A extends RouteAuth> extends RouteHandler {
  readonly [authOfRoute]?: A;
}

/**
 * Keeps each route's body type attached to its handler. The auth comes from the handler map's slot
 * (RouteHandlers), so a bearer route's handler sees a non-optional principal.
 */
export function route<S extends z.ZodType | undefined = undefined, A extends RouteAuth = RouteAuth>(
  handler: RouteHandler<S, A>,
): BoundRouteHandler<A> {
  return handler as unknown as BoundRouteHandler<A>;
}

/**
 * The handlers of one route group, keyed by route key: the compiler requires exactly the group's routes of
 * shared/http/routes.ts (a missing, extra or misspelt key does not compile).
 */
export type RouteHandlers<F extends ApiFunctionName> = {
  readonly [R in Extract<ApiRoute, { readonly functionName: F }> as RouteKey<R>]: BoundRouteHandler<
    R['auth']
  >;
};

const routeByKey = new Map<string, RouteDefinition>(routes.map((r) => [routeKey(r), r]));

/** Every path parameter of the API is an id we minted (UUIDs, base64url, incident ids). */
const PATH_ID = /^[A-Za-z0-9_-]{1,128}$/;

function bearerToken(event: APIGatewayProxyEventV2): string | undefined {
  const header = event.headers?.['authorization'] ?? event.headers?.['Authorization'];
  const match = header === undefined ? null : /^Bearer +([^\s]+) *$/i.exec(header);
  return match?.[1];
}

async function authorise(
  auth: RouteAuth,
  event: APIGatewayProxyEventV2,
  deps: Deps,
): Promise<Principal | undefined> {
  if (auth === 'none') return undefined;
  const token = bearerToken(event);
  if (auth === 'bearer') {
    if (!token) throw new InvalidTokenError('An access token is required (authorization: Bearer <token>).');
    return authenticate(deps, token);
  }
  // Admin routes use IAM authorisation: API Gateway (or the local gateway, scripts/local/api-server.ts) has
  // already checked the caller and put its identity here; a request without one did not come through it.
  const iam = (event.requestContext as { authorizer?: { iam?: unknown } }).authorizer?.iam;
  if (!iam) throw new ForbiddenError('The admin API requires IAM authorisation.');
  return undefined;
}

/** middy middleware: whatever a route throws becomes the contract's error response (see error-response.ts). */
function httpErrors(
  logger: ErrorLogger,
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      request.response = toApiGatewayResult(errorToHttpResult(request.error, logger));
    },
  };
}

function cookiesOf(event: APIGatewayProxyEventV2): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const cookie of event.cookies ?? []) {
    const index = cookie.indexOf('=');
    if (index <= 0) continue;
    const name = cookie.slice(0, index).trim();
    if (!(name in cookies)) cookies[name] = cookie.slice(index + 1).trim();
  }
  return cookies;
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function originOf(event: APIGatewayProxyEventV2): RequestOrigin {
  return {
    ip: event.requestContext?.http?.sourceIp ?? null,
    userAgent: event.requestContext?.http?.userAgent?.slice(0, 512) ?? null,
  };
}

/**
 * createHttpHandler's arguments, one tuple per route group: written as a union rather than a generic so the
 * group name picks the handler map's type before the handlers are checked (a generic group parameter would
 * leave each route's auth, and so its principal, uninferred).
 */
type HttpHandlerArguments = {
  [F in ApiFunctionName]: [
    group: F,
    handlers: RouteHandlers<F>,
    getDeps: () => Promise<Deps>,
    logger: PowertoolsLogger,
  ];
}[ApiFunctionName];

/**
 * Builds the Lambda handler of one route group: routing by routeKey, auth from shared/http/routes.ts,
 * body validation, Idempotency-Key, the single error-to-HTTP mapping, and one "auth outcome" log line on the
 * routes that ask for it. Dependencies are built once per cold start; every log line written while serving a
 * request carries its Lambda context (request id), see shared/logging.ts.
 */
export function createHttpHandler(...[group, handlers, getDeps, logger]: HttpHandlerArguments) {
  const handlerByKey = new Map<string, RouteHandler>(Object.entries(handlers));
  const serve = async (
    event: APIGatewayProxyEventV2,
    context: Context,
    seen: { principal?: Principal; deps?: Deps },
  ): Promise<HttpResult> => {
    const handler = handlerByKey.get(event.routeKey);
    const definition = routeByKey.get(event.routeKey);
    if (!handler || definition?.functionName !== group) {
      // On AWS the $default route sends every unknown path here.
      throw new NotFoundError(`No route for ${event.requestContext.http.method} ${event.rawPath}.`);
    }
    const deps = await getDeps();
    seen.deps = deps;
    const principal = await authorise(definition.auth, event, deps);
    seen.principal = principal;
    // Anything else cannot name a resource: answer 404 before it reaches a key (or a DynamoDB key-size error).
    for (const value of Object.values(event.pathParameters ?? {})) {
      if (value === undefined || !PATH_ID.test(value)) throw new NotFoundError('Not found.');
    }
    let body: unknown;
    if (handler.body && handler.form) {
      body = parseFormBody(
        {
          body: event.body,
          isBase64Encoded: event.isBase64Encoded,
          contentType: event.headers?.['content-type'] ?? event.headers?.['Content-Type'],
        },
        handler.body,
      );
    } else if (handler.body) {
      body = parseJsonBody(
        {
          body: event.body,
          isBase64Encoded: event.isBase64Encoded,
          contentType: event.headers?.['content-type'] ?? event.headers?.['Content-Type'],
        },
        handler.body,
        handler.maxBodyBytes,
      );
    } else if (
      event.body !== undefined &&
      Buffer.byteLength(event.body, 'utf8') > (handler.maxBodyBytes ?? MAX_BODY_BYTES)
    ) {
      throw new PayloadTooLargeError(handler.maxBodyBytes ?? MAX_BODY_BYTES);
    }
    const request = {
      body,
      pathParameters: event.pathParameters ?? {},
      query: event.queryStringParameters ?? {},
      rawQueryString: event.rawQueryString ?? '',
      cookies: cookiesOf(event),
      headers: lowerCaseKeys(event.headers ?? {}),
      origin: originOf(event),
      principal,
    };
    const execute = () => handler.handle(request as HttpRequest<never>, deps);
    const key = definition.idempotent ? idempotencyKeyOf(event.headers) : undefined;
    if (key === undefined) return execute();
    const idempotent = { routeKey: event.routeKey, pathParameters: request.pathParameters, body };
    return runIdempotent(
      deps.idempotency,
      { key, keyPrefix: definition.functionName, request: idempotent, context },
      execute,
    );
  };

  const core = (
    event: APIGatewayProxyEventV2,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> =>
    runInvocation(logger, context, async (log, events) => {
      const seen: { principal?: Principal; deps?: Deps } = {};
      let result: HttpResult;
      try {
        result = await serve(event, context, seen);
      } catch (error) {
        result = errorToHttpResult(error, log);
      }
      const action = routeByKey.get(event.routeKey)?.authAction;
      let outcome: string | undefined;
      if (action !== undefined) {
        const { level, fields } = authOutcome({
          action,
          result,
          principal: seen.principal,
          origin: originOf(event),
          events,
        });
        log[level]('auth outcome', fields);
        outcome = fields['outcome'] as string;
      }
      // Without deps (no route, or the configuration failed) there is nothing to count.
      const metrics = seen.deps?.metrics;
      if (metrics) {
        for (const name of requestMetrics({ action, outcome, status: result.status, events }))
          metrics.count(name);
        metrics.flush();
      }
      return toApiGatewayResult(result);
    });
  // The fallback for anything thrown outside a request's own handling (core maps every route error itself).
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(httpErrors(logger))
    .handler(core);
}
