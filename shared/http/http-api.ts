import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import type { RouteAuth } from '../../functions/routes.js';
import { routeKey, routes } from '../../functions/routes.js';
import { constantTimeEqual } from '../crypto/secrets.js';
import { ForbiddenError, InvalidTokenError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import type { RequestOrigin } from '../stores/security-events-store.js';
import { authenticate, type Principal } from '../use-cases/authenticate.js';
import type { Deps } from '../use-cases/deps.js';
import { type ErrorLogger, errorToHttpResult } from './error-response.js';
import { MAX_BODY_BYTES, parseJsonBody } from './request-body.js';
import { type HttpResult, toApiGatewayResult } from './responses.js';

export interface HttpRequest<Body> {
  readonly body: Body;
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly origin: RequestOrigin;
  /** Set on bearer routes; absent elsewhere. */
  readonly principal: Principal | undefined;
}

export interface RouteHandler<S extends z.ZodType | undefined = z.ZodType | undefined> {
  /** Schema of the JSON body; routes without one ignore any body (within the size limit). */
  readonly body?: S;
  handle(request: HttpRequest<S extends z.ZodType ? z.infer<S> : undefined>, deps: Deps): Promise<HttpResult>;
}

/** Keeps each route's body type attached to its handler. */
export function route<S extends z.ZodType | undefined = undefined>(handler: RouteHandler<S>): RouteHandler {
  return handler as unknown as RouteHandler;
}

const authByRouteKey = new Map(routes.map((r) => [routeKey(r), r.auth] as const));
const bodyLimitByRouteKey = new Map(
  routes.map((r) => [routeKey(r), r.maxBodyBytes ?? MAX_BODY_BYTES] as const),
);

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
  const adminToken = deps.config.adminToken;
  if (adminToken !== undefined) {
    if (!token)
      throw new InvalidTokenError('The admin token is required (authorization: Bearer <ADMIN_TOKEN>).');
    if (!constantTimeEqual(token, adminToken))
      throw new ForbiddenError('This token may not use the admin API.');
    return undefined;
  }
  // On AWS the route uses IAM authorisation, so API Gateway has already checked the SigV4 signature.
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

function originOf(event: APIGatewayProxyEventV2): RequestOrigin {
  return {
    ip: event.requestContext?.http?.sourceIp ?? null,
    userAgent: event.requestContext?.http?.userAgent?.slice(0, 512) ?? null,
  };
}

/**
 * Builds the Lambda handler of one route group: routing by routeKey, auth from functions/routes.ts,
 * body validation, and the single error-to-HTTP mapping. Dependencies are built once per cold start.
 */
export function createHttpHandler(
  handlers: Readonly<Record<string, RouteHandler>>,
  getDeps: () => Promise<Deps>,
  logger: ErrorLogger,
) {
  const core = async (
    event: APIGatewayProxyEventV2,
    _context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const handler = handlers[event.routeKey];
    const auth = authByRouteKey.get(event.routeKey);
    if (!handler || !auth) {
      // On AWS the $default route sends every unknown path here.
      throw new NotFoundError(`No route for ${event.requestContext.http.method} ${event.rawPath}.`);
    }
    const deps = await getDeps();
    const principal = await authorise(auth, event, deps);
    // Anything else cannot name a resource: answer 404 before it reaches a key (or a DynamoDB key-size error).
    for (const value of Object.values(event.pathParameters ?? {})) {
      if (value === undefined || !PATH_ID.test(value)) throw new NotFoundError('Not found.');
    }
    let body: unknown;
    const maxBodyBytes = bodyLimitByRouteKey.get(event.routeKey) ?? MAX_BODY_BYTES;
    if (handler.body) {
      body = parseJsonBody(
        {
          body: event.body,
          isBase64Encoded: event.isBase64Encoded,
          contentType: event.headers?.['content-type'] ?? event.headers?.['Content-Type'],
        },
        handler.body,
        maxBodyBytes,
      );
    } else if (event.body !== undefined && Buffer.byteLength(event.body, 'utf8') > maxBodyBytes) {
      throw new PayloadTooLargeError(maxBodyBytes);
    }
    const headers = Object.fromEntries(
      Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const request = {
      body,
      pathParameters: event.pathParameters ?? {},
      query: event.queryStringParameters ?? {},
      headers,
      origin: originOf(event),
      principal,
    };
    return toApiGatewayResult(await handler.handle(request as HttpRequest<never>, deps));
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(httpErrors(logger))
    .handler(core);
}
