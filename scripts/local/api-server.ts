/**
 * A stand-in for API Gateway HTTP API in front of the route handlers: it turns each request into a payload
 * format 2.0 event, invokes the handler in-process and writes its result back, so local runs and integration
 * tests exercise the same handler code as Lambda without Docker.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayEventRequestContextIAMAuthorizer,
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { constantTimeEqual } from '../../shared/crypto/secrets.js';
import { ForbiddenError, InvalidTokenError } from '../../shared/errors.js';
import { errorToHttpResult } from '../../shared/http/error-response.js';
import { SECURITY_HEADERS, toApiGatewayResult } from '../../shared/http/responses.js';
import type { FunctionName, RouteDefinition } from '../../shared/http/routes.js';

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

export interface ApiServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  readonly routes: readonly RouteDefinition[];
  readonly loadHandler: (functionName: FunctionName) => Promise<HttpHandler>;
  /**
   * Stands in for API Gateway's IAM authoriser on `admin` routes: a request bearing this token reaches its
   * function with `requestContext.authorizer.iam` set, where a SigV4-signed call has it on AWS; any other request
   * to an admin route is refused here. Without it, admin requests reach their function unauthorised (and the
   * function refuses them, as it would a call that bypassed API Gateway).
   */
  readonly adminToken?: string;
  /** API Gateway's integration timeout. @default 30000 */
  readonly timeoutMs?: number;
  /** One line per request (method, path, status, duration); off unless given. */
  readonly accessLog?: (line: string) => void;
  /** Where handler failures go; never the client. @default console.error */
  readonly logError?: (message: string, error: unknown) => void;
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** API Gateway refuses payloads above 10 MB before invoking anything; the handlers enforce the contract's 16 KiB. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const ACCOUNT_ID = '123456789012';
const API_ID = 'local';

/** What the contract asks of every response; applied to the responses this gateway makes up itself. */
const GATEWAY_HEADERS: OutgoingHttpHeaders = {
  ...SECURITY_HEADERS,
  'content-type': 'application/json; charset=utf-8',
};

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly routeKey: string;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
}

interface RouteMatch {
  readonly compiled: CompiledRoute;
  readonly pathParameters: Record<string, string> | undefined;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const compiled = options.routes.map(compileRoute);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const logError = options.logError ?? ((message: string, error: unknown) => console.error(message, error));

  const server = createServer((req, res) => {
    const started = performance.now();
    res.once('finish', () =>
      options.accessLog?.(
        `${req.method} ${req.url} -> ${res.statusCode} (${Math.round(performance.now() - started)} ms)`,
      ),
    );
    handleRequest(req, res, {
      compiled,
      loadHandler: options.loadHandler,
      adminToken: options.adminToken,
      timeoutMs,
      logError,
    }).catch((error) => {
      logError(`Local API gateway failed on ${req.method} ${req.url}`, error);
      if (!res.headersSent) sendGatewayError(res, 500, 'internal_error', 'Internal server error');
      else res.destroy();
    });
  });
  // API Gateway keeps connections open far longer than Node's 5 s default; matching it avoids resets in
  // benchmarks that reuse connections.
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running get a short grace period, as Lambda would not be cut off mid-invocation.
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
      return closing;
    },
  };
}

interface RequestDependencies {
  readonly compiled: readonly CompiledRoute[];
  readonly loadHandler: (functionName: FunctionName) => Promise<HttpHandler>;
  readonly adminToken: string | undefined;
  readonly timeoutMs: number;
  readonly logError: (message: string, error: unknown) => void;
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  deps: RequestDependencies,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const target = req.url ?? '/';
  const queryIndex = target.indexOf('?');
  const rawPath = queryIndex === -1 ? target : target.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? '' : target.slice(queryIndex + 1);

  const match = matchRoute(deps.compiled, method, rawPath);
  if (match === 'no-path') {
    discardBody(req);
    sendGatewayError(res, 404, 'not_found', `No route for ${method} ${rawPath}`);
    return;
  }
  if (Array.isArray(match)) {
    discardBody(req);
    sendGatewayError(res, 405, 'method_not_allowed', `${method} is not allowed on ${rawPath}`, {
      allow: match.join(', '),
    });
    return;
  }

  const declaredLength = Number(req.headers['content-length'] ?? 0);
  if (declaredLength > MAX_BODY_BYTES) {
    refuseTooLarge(req, res);
    return;
  }
  const body = await readBody(req);
  if (body === 'aborted') return;
  if (body === 'too-large') {
    refuseTooLarge(req, res);
    return;
  }

  const requestId = apiGatewayRequestId();
  const event = buildEvent({ req, method, rawPath, rawQueryString, body, match, requestId });
  const refusal =
    match.compiled.route.auth === 'admin' && deps.adminToken !== undefined
      ? authoriseAdmin(event, deps.adminToken)
      : undefined;
  const functionName = match.compiled.route.functionName;
  let result: APIGatewayProxyResultV2;
  try {
    if (refusal) result = toApiGatewayResult(refusal);
    else {
      const handler = await deps.loadHandler(functionName);
      result = await withTimeout(
        handler(event, createLambdaContext(functionName, deps.timeoutMs)),
        deps.timeoutMs,
      );
    }
  } catch (error) {
    if (error instanceof IntegrationTimeoutError) {
      deps.logError(
        `${match.compiled.routeKey} (${functionName}) did not answer within ${deps.timeoutMs} ms`,
        error,
      );
      sendGatewayError(res, 503, 'unavailable', 'The service is temporarily unavailable', {
        'retry-after': '1',
      });
      return;
    }
    deps.logError(`${match.compiled.routeKey} (${functionName}) failed`, error);
    sendGatewayError(res, 500, 'internal_error', 'Internal server error');
    return;
  }

  const response = normaliseResult(result);
  if (!response) {
    deps.logError(
      `${match.compiled.routeKey} (${functionName}) returned an invalid response`,
      new TypeError(JSON.stringify(result)),
    );
    sendGatewayError(res, 500, 'internal_error', 'Internal server error');
    return;
  }
  writeResult(res, response, requestId);
}

// ---------------------------------------------------------------------------------------------------------
// Routing

function compileRoute(route: RouteDefinition): CompiledRoute {
  const paramNames: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      paramNames.push(param[1] ?? '');
      // `{proxy+}` is API Gateway's greedy parameter; a plain one stops at the next slash.
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { route, routeKey: `${route.method} ${route.path}`, pattern: new RegExp(`^${source}$`), paramNames };
}

/** A match, the methods the path does allow (405), or 'no-path' (404). */
function matchRoute(
  compiled: readonly CompiledRoute[],
  method: string,
  rawPath: string,
): RouteMatch | string[] | 'no-path' {
  const allowed: string[] = [];
  for (const candidate of compiled) {
    const found = candidate.pattern.exec(rawPath);
    if (!found) continue;
    if (candidate.route.method !== method) {
      if (!allowed.includes(candidate.route.method)) allowed.push(candidate.route.method);
      continue;
    }
    if (candidate.paramNames.length === 0) return { compiled: candidate, pathParameters: undefined };
    const pathParameters: Record<string, string> = {};
    candidate.paramNames.forEach((name, index) => {
      pathParameters[name] = decodeSafely(found[index + 1] ?? '');
    });
    return { compiled: candidate, pathParameters };
  }
  return allowed.length > 0 ? allowed : 'no-path';
}

function decodeSafely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Admin authorisation (IAM on AWS)

const LOCAL_ADMIN_IDENTITY: APIGatewayEventRequestContextIAMAuthorizer = {
  iam: {
    accessKey: 'LOCALADMINACCESSKEY',
    accountId: ACCOUNT_ID,
    callerId: 'LOCALADMIN',
    cognitoIdentity: null,
    principalOrgId: '',
    userArn: `arn:aws:iam::${ACCOUNT_ID}:user/local-admin`,
    userId: 'LOCALADMIN',
  },
};

/**
 * The local ADMIN_TOKEN in place of a SigV4 signature: on success the event carries the admin identity where
 * API Gateway's IAM authoriser puts it; otherwise the refusal to send (the contract's 401/403 error bodies).
 */
function authoriseAdmin(event: APIGatewayProxyEventV2, adminToken: string) {
  const header = event.headers['authorization'];
  const token = header === undefined ? undefined : /^Bearer +([^\s]+) *$/i.exec(header)?.[1];
  const refusal = !token
    ? new InvalidTokenError('The admin token is required (authorization: Bearer <ADMIN_TOKEN>).')
    : !constantTimeEqual(token, adminToken)
      ? new ForbiddenError('This token may not use the admin API.')
      : undefined;
  if (refusal) return errorToHttpResult(refusal, { error: () => undefined, warn: () => undefined });
  Object.assign(event.requestContext, { authorizer: LOCAL_ADMIN_IDENTITY });
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Request body

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      // Chunked uploads declare no length, so the limit is also enforced while reading. The stream is left
      // open (not destroyed) so that the 413 can still reach the client.
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.off('end', onEnd);
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    // A client that hangs up mid-upload has nobody left to answer, and is no failure of ours to log.
    req.once('error', () => resolve('aborted'));
  });
}

function refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
  sendGatewayError(res, 413, 'payload_too_large', 'The request body is larger than 10 MB', {
    connection: 'close',
  });
  discardBody(req);
  // Reading the rest only to drop it keeps the client able to see the 413; a client that keeps sending
  // after that is cut off.
  setTimeout(() => req.socket.destroy(), 5_000).unref();
}

function discardBody(req: IncomingMessage): void {
  req.resume();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function encodeBody(body: Buffer): { body?: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  try {
    return { body: utf8.decode(body), isBase64Encoded: false };
  } catch {
    return { body: body.toString('base64'), isBase64Encoded: true };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Event

interface EventInput {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly body: Buffer;
  readonly match: RouteMatch;
  readonly requestId: string;
}

function buildEvent(input: EventInput): APIGatewayProxyEventV2 {
  const { req, method, rawPath, rawQueryString, body, match, requestId } = input;
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  // rawHeaders, not req.headers: Node keeps only the first value of some duplicated headers, API Gateway
  // joins every duplicate with a comma.
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const name = (req.rawHeaders[index] ?? '').toLowerCase();
    const value = req.rawHeaders[index + 1] ?? '';
    if (name === 'cookie') {
      // Payload 2.0 moves cookies out of the headers into their own list.
      cookies.push(
        ...value
          .split(';')
          .map((cookie) => cookie.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const localPort = req.socket.localPort ?? 0;
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${sourceIp}`
    : sourceIp;
  headers['x-forwarded-port'] = String(localPort);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  const now = new Date();
  const domainName = headers.host ?? `127.0.0.1:${localPort}`;
  const { body: eventBody, isBase64Encoded } = encodeBody(body);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: match.compiled.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: match.compiled.routeKey,
      stage: '$default',
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded,
  };
  if (cookies.length > 0) event.cookies = cookies;
  const query = parseQueryString(rawQueryString);
  if (query) event.queryStringParameters = query;
  if (match.pathParameters) event.pathParameters = match.pathParameters;
  if (eventBody !== undefined) event.body = eventBody;
  return event;
}

/** Payload 2.0 joins repeated parameters with commas and omits the field when there is no query string. */
function parseQueryString(rawQueryString: string): Record<string, string> | undefined {
  if (!rawQueryString) return undefined;
  const result: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    result[name] = result[name] === undefined ? value : `${result[name]},${value}`;
  }
  return result;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `12/Mar/2020:19:03:58 +0000` format. */
function formatRequestTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** HTTP API request ids look like `JKJaXmPLvHcESHA=`. */
function apiGatewayRequestId(): string {
  return randomBytes(10).toString('base64');
}

/** A Lambda context for in-process invocations; the timeout feeds getRemainingTimeInMillis. */
export function createLambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const qualifiedName = `account-shield-${functionName}`;
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: qualifiedName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:${ACCOUNT_ID}:function:${qualifiedName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${qualifiedName}`,
    logStreamName: `${today}/[$LATEST]local`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The callback-style completion methods are deprecated and unused by async handlers.
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

class IntegrationTimeoutError extends Error {
  override readonly name = 'IntegrationTimeoutError';
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IntegrationTimeoutError(`no response within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Response

interface NormalisedResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly cookies: readonly string[];
  readonly body: Buffer;
}

/** Mirrors API Gateway's rules for payload 2.0 results; undefined for a result it would reject. */
function normaliseResult(result: APIGatewayProxyResultV2): NormalisedResult | undefined {
  if (typeof result === 'string') {
    // A bare string is taken as a JSON body with status 200.
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(result),
    };
  }
  if (typeof result !== 'object' || result === null) return undefined;
  if (!('statusCode' in result) || result.statusCode === undefined) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(JSON.stringify(result)),
    };
  }
  const structured: APIGatewayProxyStructuredResultV2 = result;
  const statusCode = structured.statusCode;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    return undefined;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  const body =
    structured.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(structured.body, structured.isBase64Encoded ? 'base64' : 'utf8');
  return { statusCode, headers, cookies: structured.cookies ?? [], body };
}

function writeResult(res: ServerResponse, result: NormalisedResult, requestId: string): void {
  const headers: OutgoingHttpHeaders = { ...result.headers, 'apigw-requestid': requestId };
  if (result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  const bodyAllowed = result.statusCode !== 204 && result.statusCode !== 304;
  if (bodyAllowed) headers['content-length'] = String(result.body.length);
  res.writeHead(result.statusCode, headers);
  res.end(bodyAllowed ? result.body : undefined);
}

function sendGatewayError(
  res: ServerResponse,
  statusCode: number,
  error: string,
  message: string,
  extraHeaders: OutgoingHttpHeaders = {},
): void {
  const body = JSON.stringify({ error, message });
  res.writeHead(statusCode, {
    ...GATEWAY_HEADERS,
    ...extraHeaders,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
