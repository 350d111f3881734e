import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { FORGOT_PASSWORD_ACCEPTED } from '../../functions/password.js';
import { startApiServer } from '../../scripts/local/api-server.js';
import { importSigningKeys } from '../../shared/crypto/key-store.js';
import { generateSigningKey } from '../../shared/crypto/signing-key-set.js';
import type { IncidentRecord } from '../../shared/domain/incident.js';
import { toPublicUser, type UserRecord } from '../../shared/domain/user.js';
import * as errorModule from '../../shared/errors.js';
import {
  ApiError,
  InvalidRequestError,
  OAUTH_ERROR_CODES,
  OAuthError,
  WeakPasswordError,
} from '../../shared/errors.js';
import { errorToHttpResult } from '../../shared/http/error-response.js';
import * as incidentRequestSchemas from '../../shared/http/incident-schemas.js';
import * as oauthRequestSchemas from '../../shared/http/oauth-schemas.js';
import { parseFormBody, parseJsonBody } from '../../shared/http/request-body.js';
import { SECURITY_HEADERS } from '../../shared/http/responses.js';
import { type RouteDefinition, routeKey, routes } from '../../shared/http/routes.js';
import * as requestSchemas from '../../shared/http/schemas.js';
import * as ssfRequestSchemas from '../../shared/http/ssf-schemas.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { createIncident, forcePasswordReset, getIncident } from '../../shared/use-cases/incidents.js';
import { startSession } from '../../shared/use-cases/session-tokens.js';
import { describeSession } from '../../shared/use-cases/sessions.js';

/**
 * openapi.yaml is what clients and the acceptance checks read; these tests keep it in step with the code:
 * routes, auth, function groups, request schemas, error codes, headers and the response shapes we can build
 * without AWS.
 */

// ---- What the code does not serve yet ---------------------------------------------------------------------

/**
 * Routes of the contract that openapi.yaml documents but shared/http/routes.ts does not serve yet. Adding one of
 * them to routes.ts fails "documents exactly the routes of routes.ts plus the pending ones" until it is taken
 * off this list, so the list cannot go stale.
 */
const pendingRoutes: readonly string[] = [];

/**
 * The modules whose zod exports are request-body schemas. Their other exports (constants such as
 * MAX_SCOPE_ENTRIES, helpers, types) are not zod schemas and are skipped by type, here and in the names below.
 */
const requestSchemaModules = {
  'shared/http/schemas.ts': requestSchemas,
  'shared/http/incident-schemas.ts': incidentRequestSchemas,
  'shared/http/oauth-schemas.ts': oauthRequestSchemas,
  'shared/http/ssf-schemas.ts': ssfRequestSchemas,
} as const;

/** The OAuth endpoints take form-encoded bodies (RFC 6749 3.2); every other body is JSON. */
const FORM = 'application/x-www-form-urlencoded';

type ZodExportName<Module> = {
  [Name in keyof Module]: Module[Name] extends z.ZodType ? Name : never;
}[keyof Module] &
  string;
type RequestSchemaName = {
  [Path in keyof typeof requestSchemaModules]: ZodExportName<(typeof requestSchemaModules)[Path]>;
}[keyof typeof requestSchemaModules];

/**
 * The zod schema (a zod export of one of requestSchemaModules) that validates each documented request body.
 * `null` only for pending routes whose schema does not exist yet: name it here when it lands.
 */
const requestBodySchemaByRoute: Readonly<Record<string, RequestSchemaName | null>> = {
  'POST /v1/accounts': 'createAccountBody',
  'POST /v1/auth/login': 'loginBody',
  'POST /v1/auth/refresh': 'refreshBody',
  'POST /v1/auth/password/forgot': 'forgotPasswordBody',
  'POST /v1/auth/password/reset': 'resetPasswordBody',
  'POST /v1/auth/password/change': 'changePasswordBody',
  'POST /v1/auth/mfa/totp/setup': 'totpSetupBody',
  'POST /v1/auth/mfa/totp/confirm': 'totpConfirmBody',
  'DELETE /v1/auth/mfa/totp': 'totpDisableBody',
  'POST /v1/admin/users': 'adminCreateUserBody',
  'POST /v1/admin/users/import': 'importUsersBody',
  'POST /v1/admin/users/{id}/force-reset': 'forceResetBody',
  'POST /v1/admin/incidents': 'createIncidentBody',
  'POST /v1/auth/sso/exchange': 'ssoExchangeBody',
  'POST /v1/admin/clients': 'createClientBody',
  'POST /v1/auth/authorize/complete': 'authorizeCompleteBody',
  'POST /v1/auth/device/lookup': 'deviceUserCodeBody',
  'POST /v1/auth/device/approve': 'deviceUserCodeBody',
  'POST /v1/auth/device/deny': 'deviceUserCodeBody',
  'POST /oauth2/token': 'tokenForm',
  'POST /oauth2/device_authorization': 'deviceAuthorizationForm',
  'POST /oauth2/revoke': 'tokenStatusForm',
  'POST /oauth2/introspect': 'tokenStatusForm',
  'POST /ssf/streams': 'streamConfigurationBody',
  'PATCH /ssf/streams': 'streamConfigurationBody',
  'PUT /ssf/streams': 'streamConfigurationBody',
  'POST /ssf/status': 'streamStatusBody',
  'POST /ssf/verify': 'verificationBody',
  'POST /ssf/poll/{id}': 'pollBody',
  'POST /v1/admin/incidents/{id}/audience': 'audienceChunkBody',
};

/**
 * Constraints that zod enforces in a refinement, which z.toJSONSchema cannot express, and that openapi.yaml
 * documents on top of what zod emits: route -> node (as schemaDifferences names it) -> keywords. An entry
 * whose node is never reached, that zod starts emitting itself, or that openapi.yaml drops fails "mirrors zod
 * schema", so the list cannot go stale.
 */
const refinedConstraintsByRoute: Readonly<Record<string, Readonly<Record<string, JsonObject>>>> = {
  // uniqueList() in shared/http/incident-schemas.ts refuses duplicates (after normalisation) in a superRefine.
  'POST /v1/admin/incidents': {
    '(body).scope|1.userIds': { uniqueItems: true },
    '(body).scope|2.emails': { uniqueItems: true },
  },
};

/**
 * Error responses the document promises but no code produces yet, as `<status> <code>`. Each must disappear
 * from here once the code produces it ("lists only pending error responses the code does not produce yet").
 */
const pendingErrorResponses: readonly string[] = [];

// ---- Reading the document ----------------------------------------------------------------------------------

type JsonObject = { readonly [key: string]: unknown };

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// js-yaml is loaded through require so the test needs no @types package; load() is safe in js-yaml 4 and
// safeLoad() is the safe one in js-yaml 3.
const requireCjs = createRequire(import.meta.url);
const jsYaml = requireCjs('js-yaml') as {
  load: (text: string) => unknown;
  safeLoad?: (text: string) => unknown;
};
const parseYaml = jsYaml.safeLoad ?? jsYaml.load;

const documentText = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');
const parsedDocument = parseYaml(documentText);
if (!isObject(parsedDocument)) throw new Error('openapi.yaml is not a YAML mapping');
const openapi: JsonObject = parsedDocument;

function pointer(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`Only local $refs are supported, got ${ref}`);
  let node: unknown = openapi;
  for (const raw of ref.slice(2).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isObject(node) || !(segment in node)) throw new Error(`Unresolved $ref ${ref}`);
    node = node[segment];
  }
  return node;
}

/** Follows `$ref`s until a node without one. */
function deref(node: unknown): JsonObject {
  let current = node;
  for (let hops = 0; isObject(current) && typeof current['$ref'] === 'string'; hops += 1) {
    if (hops > 20) throw new Error('$ref cycle');
    current = pointer(current['$ref']);
  }
  if (!isObject(current)) throw new Error(`Expected an object, got ${JSON.stringify(current)}`);
  return current;
}

function child(node: JsonObject, key: string): JsonObject {
  return deref(node[key]);
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface DocumentedOperation {
  readonly key: string;
  readonly path: string;
  readonly operation: JsonObject;
}

const operations: DocumentedOperation[] = Object.entries(child(openapi, 'paths')).flatMap(([path, item]) =>
  HTTP_METHODS.filter((method) => isObject(item) && method in item).map((method) => ({
    key: `${method.toUpperCase()} ${path}`,
    path,
    operation: deref((item as JsonObject)[method]),
  })),
);
const operationByKey = new Map(operations.map((documented) => [documented.key, documented.operation]));

function operationFor(key: string): JsonObject {
  const operation = operationByKey.get(key);
  if (!operation) throw new Error(`openapi.yaml has no operation for ${key}`);
  return operation;
}

function responsesOf(operation: JsonObject): [status: string, response: JsonObject][] {
  return Object.entries(child(operation, 'responses')).map(([status, response]) => [status, deref(response)]);
}

function headersOf(response: JsonObject): Map<string, JsonObject> {
  const headers = isObject(response['headers']) ? response['headers'] : {};
  return new Map(Object.entries(headers).map(([name, header]) => [name.toLowerCase(), deref(header)]));
}

/** The schema of a request body, JSON or form-encoded, and which of the two it is. */
function requestSchemaOf(body: JsonObject): { schema: JsonObject; form: boolean } | undefined {
  const content = body['content'];
  if (!isObject(content)) return undefined;
  const form = isObject(content[FORM]);
  const media = content[form ? FORM : 'application/json'];
  return isObject(media) ? { schema: deref(media['schema']), form } : undefined;
}

function jsonSchemaOf(response: JsonObject): JsonObject | undefined {
  const content = response['content'];
  if (!isObject(content) || !isObject(content['application/json'])) return undefined;
  return deref(content['application/json']['schema']);
}

/** The error codes a response's schema allows: the `error` enums of the Error variants it combines. */
function errorCodesOf(schema: JsonObject): string[] {
  const codes: string[] = [];
  const errorProperty = isObject(schema['properties']) ? schema['properties']['error'] : undefined;
  if (isObject(errorProperty) && Array.isArray(errorProperty['enum']))
    codes.push(...(errorProperty['enum'] as string[]));
  for (const combinator of ['allOf', 'anyOf', 'oneOf']) {
    const branches = schema[combinator];
    if (Array.isArray(branches)) for (const branch of branches) codes.push(...errorCodesOf(deref(branch)));
  }
  return [...new Set(codes)];
}

function collectRefs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, found);
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else collectRefs(value, found);
    }
  }
  return found;
}

const documentedErrorCodes = (): string[] => {
  const values = child(child(openapi, 'components'), 'schemas')['ErrorCode'];
  return isObject(values) && Array.isArray(values['enum']) ? (values['enum'] as string[]) : [];
};

const documentedOAuthErrorCodes = (): string[] => {
  const values = child(child(openapi, 'components'), 'schemas')['OAuthErrorCode'];
  return isObject(values) && Array.isArray(values['enum']) ? (values['enum'] as string[]) : [];
};

const sorted = (values: Iterable<string>): string[] => [...values].sort();

// ---- What the code says -----------------------------------------------------------------------------------

const implementedKeys = routes.map(routeKey);

/** Every zod export of requestSchemaModules by name; a name exported by two modules would be ambiguous. */
const zodSchemaByExport = new Map<string, z.ZodType>();
for (const [modulePath, moduleExports] of Object.entries(requestSchemaModules)) {
  for (const [name, value] of Object.entries(moduleExports)) {
    if (!(value instanceof z.ZodType)) continue;
    if (zodSchemaByExport.has(name)) throw new Error(`${modulePath} exports ${name} a second time`);
    zodSchemaByExport.set(name, value);
  }
}

/** What shared/http/request-body.ts does with no body at all: the schema's defaults, or a 400. */
function acceptsNoBody(schema: z.ZodType, form = false): boolean {
  try {
    if (form) parseFormBody({}, schema);
    else parseJsonBody({}, schema);
    return true;
  } catch (error) {
    if (error instanceof InvalidRequestError || error instanceof OAuthError) return false;
    throw error;
  }
}
const isPending = (key: string) => pendingRoutes.includes(key);

const securityByAuth: Readonly<Record<RouteDefinition['auth'], unknown[]>> = {
  none: [],
  bearer: [{ bearerAuth: [] }],
  admin: [{ adminSigV4: [] }, { adminToken: [] }],
};

const silentLogger = { error: () => undefined, warn: () => undefined };

/** One instance of every ApiError subclass in shared/errors.ts: the codes, statuses and headers it can send. */
const errorInstances: ApiError[] = Object.values(errorModule)
  .filter((value) => typeof value === 'function' && value.prototype instanceof ApiError)
  .map((ErrorClass) => new (ErrorClass as unknown as new () => ApiError)());

interface ProducedError {
  readonly status: number;
  readonly code: string;
  readonly headers: readonly string[];
}

function producedByHandlers(): ProducedError[] {
  const fromClasses = errorInstances.map((error) => ({
    status: error.status,
    code: error.code,
    headers: Object.keys(error.headers),
  }));
  // What the HTTP adapter sends for anything that is not an ApiError (a bug).
  const bug = errorToHttpResult(new Error('a bug'), silentLogger);
  return [...fromClasses, { status: bug.status, code: (bug.body as { error: string }).error, headers: [] }];
}

/** Errors the local runner's gateway makes up itself (no route, wrong method, handler crash). */
async function producedByLocalGateway(): Promise<ProducedError[]> {
  const server = await startApiServer({
    port: 0,
    routes,
    loadHandler: async () => async () => {
      throw new Error('handler crash');
    },
    logError: () => undefined,
  });
  try {
    const produced: ProducedError[] = [];
    const calls: [method: string, path: string][] = [
      ['GET', '/v1/no-such-route'],
      ['GET', '/v1/auth/login'],
      ['GET', '/.well-known/jwks.json'],
    ];
    for (const [method, path] of calls) {
      const response = await fetch(`${server.url}${path}`, { method });
      const body = (await response.json()) as { error: string };
      produced.push({ status: response.status, code: body.error, headers: [] });
    }
    return produced;
  } finally {
    await server.close();
  }
}

// ---- Tests ------------------------------------------------------------------------------------------------

describe('openapi.yaml', () => {
  describe('document', () => {
    it('is an OpenAPI 3.1 document whose $refs all resolve', () => {
      expect(openapi['openapi']).toMatch(/^3\.1\.\d+$/);
      const unresolved = collectRefs(openapi).filter((ref) => {
        try {
          pointer(ref);
          return false;
        } catch {
          return true;
        }
      });
      expect(unresolved).toEqual([]);
    });

    it('gives every operation a unique operationId', () => {
      const ids = operations.map(({ operation }) => operation['operationId']);
      expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('defines the bearer (JWT) and both admin security schemes', () => {
      const schemes = child(child(openapi, 'components'), 'securitySchemes');
      expect(schemes['bearerAuth']).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
      expect(schemes['adminToken']).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(schemes['adminSigV4']).toMatchObject({ 'x-amazon-apigateway-authtype': 'awsSigv4' });
    });
  });

  describe('routes', () => {
    it('documents every route of shared/http/routes.ts with the same method and path', () => {
      const documented = new Set(operationByKey.keys());
      expect(implementedKeys.filter((key) => !documented.has(key))).toEqual([]);
    });

    it('documents exactly the routes of routes.ts plus the pending ones', () => {
      const notServed = [...operationByKey.keys()].filter((key) => !implementedKeys.includes(key));
      expect(sorted(notServed)).toEqual(sorted(pendingRoutes));
    });

    it.each(routes.map((route) => [routeKey(route), route] as const))(
      '%s names its function group and auth as routes.ts does',
      (key, route) => {
        const operation = operationFor(key);
        expect(operation['x-account-shield-function']).toBe(route.functionName);
        expect(operation['security']).toEqual(securityByAuth[route.auth]);
      },
    );

    it('gives pending routes a function group and one of the three kinds of security', () => {
      for (const key of pendingRoutes) {
        const operation = operationFor(key);
        expect(typeof operation['x-account-shield-function']).toBe('string');
        expect(Object.values(securityByAuth)).toContainEqual(operation['security']);
      }
    });

    it('declares every path parameter of every documented route', () => {
      for (const { key, path, operation } of operations) {
        const inPath = sorted([...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? ''));
        const parameters = Array.isArray(operation['parameters']) ? operation['parameters'].map(deref) : [];
        const declared = sorted(
          parameters
            .filter((p) => p['in'] === 'path' && p['required'] === true)
            .map((p) => String(p['name'])),
        );
        expect({ key, declared }).toEqual({ key, declared: inPath });
      }
    });
  });

  describe('request bodies', () => {
    const documentedWithBody = operations.filter(({ operation }) => operation['requestBody'] !== undefined);

    it('maps every documented request body, and only those, to a zod schema', () => {
      expect(sorted(documentedWithBody.map(({ key }) => key))).toEqual(
        sorted(Object.keys(requestBodySchemaByRoute)),
      );
    });

    it('leaves a request body without a zod schema only on pending routes', () => {
      const unmapped = Object.entries(requestBodySchemaByRoute).filter(([, name]) => name === null);
      expect(unmapped.map(([key]) => key).filter((key) => !isPending(key))).toEqual([]);
    });

    it(`documents every request schema that ${Object.keys(requestSchemaModules).join(' and ')} export`, () => {
      expect(zodSchemaByExport.size).toBeGreaterThan(0);
      const mapped = new Set<string | null>(Object.values(requestBodySchemaByRoute));
      expect([...zodSchemaByExport.keys()].filter((name) => !mapped.has(name))).toEqual([]);
    });

    it('takes every documented body as JSON only (form-encoded on the OAuth endpoints), optional exactly where the code accepts no body', () => {
      for (const { key, operation } of documentedWithBody) {
        const body = child(operation, 'requestBody');
        const schemaName = requestBodySchemaByRoute[key];
        const schema = schemaName ? zodSchemaByExport.get(schemaName) : undefined;
        const form = schemaName !== null && schemaName !== undefined && schemaName in oauthRequestSchemas;
        expect({ key, required: body['required'], types: Object.keys(child(body, 'content')) }).toEqual({
          key,
          // Pending routes have no schema yet: their bodies are required until it lands.
          required: schema ? !acceptsNoBody(schema, form) : true,
          types: [form ? FORM : 'application/json'],
        });
      }
    });

    const comparable = Object.entries(requestBodySchemaByRoute).filter(
      (entry): entry is [string, RequestSchemaName] => entry[1] !== null,
    );

    it.each(comparable)('%s mirrors zod schema %s', (key, schemaName) => {
      const exported = zodSchemaByExport.get(schemaName);
      if (!exported) throw new Error(`No module of requestSchemaModules exports a zod schema ${schemaName}`);
      const zodSchema = z.toJSONSchema(exported, { io: 'input' }) as JsonObject;
      const request = requestSchemaOf(child(operationFor(key), 'requestBody'));
      if (!request) throw new Error(`${key} has no request schema`);
      const documented = request.schema;
      // JSON bodies are strict; OAuth forms ignore unknown parameters, as the RFCs require.
      expect(documented['additionalProperties']).toBe(request.form ? undefined : false);
      const refined = new RefinedConstraints(refinedConstraintsByRoute[key] ?? {});
      expect([...schemaDifferences(zodSchema, documented, '(body)', refined), ...refined.unused()]).toEqual(
        [],
      );
    });

    it('lists refined constraints only for documented request bodies', () => {
      expect(Object.keys(refinedConstraintsByRoute).filter((key) => !requestBodySchemaByRoute[key])).toEqual(
        [],
      );
    });
  });

  describe('responses', () => {
    const allResponses = operations.flatMap(({ key, operation }) =>
      responsesOf(operation).map(([status, response]) => ({ key, status, response })),
    );

    it('sends the security headers of shared/http/responses.ts, with their values, on every response', () => {
      const problems: string[] = [];
      for (const { key, status, response } of allResponses) {
        const headers = headersOf(response);
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
          const header = headers.get(name);
          const schema = header ? deref(header['schema']) : undefined;
          if (header?.['required'] !== true || schema?.['const'] !== value) {
            problems.push(`${key} ${status}: ${name} should be required with const ${JSON.stringify(value)}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('documents a JSON body on every response but 204 and 302 (browser redirects), and none on those', () => {
      for (const { key, status, response } of allResponses) {
        // The per-entry incident report is JSON lines (one JSON object per line), documented as such.
        const content = response['content'];
        const jsonLines = isObject(content) && isObject(content['application/x-ndjson']);
        expect({ key, status, hasJsonBody: jsonSchemaOf(response) !== undefined || jsonLines }).toEqual({
          key,
          status,
          hasJsonBody: status !== '204' && status !== '302',
        });
      }
    });

    it('documents 413, 500 and 503 on every route, and 400 and 415 on every route with a body', () => {
      for (const { key, operation } of operations) {
        const statuses = Object.keys(child(operation, 'responses'));
        const body = operation['requestBody'] ? requestSchemaOf(child(operation, 'requestBody')) : undefined;
        // A form body in the wrong media type is the RFC's 400 invalid_request, not 415.
        const expected = ['413', '500', '503', ...(body ? ['400', ...(body.form ? [] : ['415'])] : [])];
        expect({ key, missing: expected.filter((status) => !statuses.includes(status)) }).toEqual({
          key,
          missing: [],
        });
      }
    });

    it('documents 401 invalid_token with www-authenticate on every bearer route', () => {
      for (const { key, operation } of operations) {
        if (!isDeepStrictEqual(operation['security'], securityByAuth.bearer)) continue;
        const unauthorised = deref(child(operation, 'responses')['401']);
        const schema = jsonSchemaOf(unauthorised);
        expect({ key, codes: schema ? errorCodesOf(schema) : [] }).toEqual({
          key,
          codes: expect.arrayContaining(['invalid_token']),
        });
        expect({ key, header: headersOf(unauthorised).has('www-authenticate') }).toEqual({
          key,
          header: true,
        });
      }
    });

    it('documents 401 and 403 on every admin route', () => {
      for (const { key, operation } of operations) {
        if (!isDeepStrictEqual(operation['security'], securityByAuth.admin)) continue;
        const statuses = Object.keys(child(operation, 'responses'));
        expect({ key, statuses }).toEqual({ key, statuses: expect.arrayContaining(['401', '403']) });
      }
    });

    it('requires retry-after on every 429 and 503', () => {
      for (const { key, status, response } of allResponses) {
        if (status !== '429' && status !== '503') continue;
        expect({ key, status, retryAfter: headersOf(response).get('retry-after')?.['required'] }).toEqual({
          key,
          status,
          retryAfter: true,
        });
      }
    });

    it('narrows every error response to codes of the ErrorCode or OAuthErrorCode enums', () => {
      const known = new Set([...documentedErrorCodes(), ...documentedOAuthErrorCodes()]);
      for (const { key, status, response } of allResponses) {
        if (Number(status) < 400) continue;
        const schema = jsonSchemaOf(response);
        const codes = schema ? errorCodesOf(schema) : [];
        expect({ key, status, narrowed: codes.length > 0 }).toEqual({ key, status, narrowed: true });
        expect({ key, status, unknown: codes.filter((code) => !known.has(code)) }).toEqual({
          key,
          status,
          unknown: [],
        });
      }
    });
  });

  describe('error codes', () => {
    let produced: ProducedError[] = [];
    beforeAll(async () => {
      produced = [...producedByHandlers(), ...(await producedByLocalGateway())];
    });

    const documentedPairs = (): Map<string, Set<string>> => {
      const pairs = new Map<string, Set<string>>();
      for (const { operation } of operations) {
        for (const [status, response] of responsesOf(operation)) {
          const schema = jsonSchemaOf(response);
          if (Number(status) < 400 || !schema) continue;
          for (const code of errorCodesOf(schema)) {
            const headers = pairs.get(`${status} ${code}`) ?? new Set<string>();
            for (const name of headersOf(response).keys()) headers.add(name);
            pairs.set(`${status} ${code}`, headers);
          }
        }
      }
      return pairs;
    };

    it('lists in OAuthErrorCode exactly the codes of shared/errors.ts OAUTH_ERROR_CODES', () => {
      expect(sorted(documentedOAuthErrorCodes())).toEqual(sorted(OAUTH_ERROR_CODES));
    });

    it('lists in ErrorCode exactly the codes the handlers and the local gateway send', () => {
      expect(sorted(new Set(documentedErrorCodes()))).toEqual(
        sorted(new Set(produced.map(({ code }) => code))),
      );
    });

    it('documents every error class of shared/errors.ts at its status, with its headers', () => {
      const pairs = documentedPairs();
      const problems = producedByHandlers().flatMap(({ status, code, headers }) => {
        const documentedHeaders = pairs.get(`${status} ${code}`);
        if (!documentedHeaders) return [`${status} ${code} is not documented on any operation`];
        return headers
          .filter((name) => !documentedHeaders.has(name))
          .map((name) => `${status} ${code} lacks ${name}`);
      });
      expect(problems).toEqual([]);
    });

    it('documents no status and code pair that the code cannot send, except the pending ones', () => {
      const oauth = OAUTH_ERROR_CODES.map((code) => new OAuthError(code, 'x'));
      const producible = new Set([
        ...produced.map(({ status, code }) => `${status} ${code}`),
        ...oauth.map(({ status, code }) => `${status} ${code}`),
      ]);
      const unexplained = [...documentedPairs().keys()].filter(
        (pair) => !producible.has(pair) && !pendingErrorResponses.includes(pair),
      );
      expect(unexplained).toEqual([]);
    });

    it('lists only pending error responses the code does not produce yet', () => {
      const producible = new Set(produced.map(({ status, code }) => `${status} ${code}`));
      expect(pendingErrorResponses.filter((pair) => producible.has(pair))).toEqual([]);
    });

    it('documents every field of the error bodies the adapter builds', () => {
      const properties = Object.keys(
        child(child(child(openapi, 'components'), 'schemas'), 'Error')['properties'] as JsonObject,
      );
      const bodies = [
        new InvalidRequestError('The request body is invalid.', [{ path: 'email', message: 'Required.' }]),
        new WeakPasswordError(['too_short']),
        ...errorInstances,
      ].map((error) => errorToHttpResult(error, silentLogger).body as JsonObject);
      const undocumented = bodies.flatMap((body) =>
        Object.keys(body).filter((name) => !properties.includes(name)),
      );
      expect(undocumented).toEqual([]);
    });
  });

  describe('response bodies built by the code', () => {
    const schemas = child(child(openapi, 'components'), 'schemas');
    const propertyNames = (name: string) =>
      sorted(Object.keys(child(schemas, name)['properties'] as JsonObject));
    const requiredNames = (name: string) => sorted(child(schemas, name)['required'] as string[]);

    const user: UserRecord = {
      userId: '0b5f3a7e-7c1e-4a43-9a4f-1f2b3c4d5e6f',
      email: 'ada@example.com',
      username: 'ada',
      authMethod: 'password',
      passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
      passwordSetAt: 0,
      tokenVersion: 3,
      mustResetPassword: false,
      mfaEnabled: true,
      totpSecret: 'sealed',
      recoveryCodeHashes: ['hash'],
      createdAt: '2026-11-22T10:00:00.000Z',
      updatedAt: '2026-11-22T10:00:00.000Z',
    };

    it('User has exactly the fields of toPublicUser, all required', () => {
      const fields = sorted(Object.keys(toPublicUser(user)));
      expect(propertyNames('User')).toEqual(fields);
      expect(requiredNames('User')).toEqual(fields);
    });

    it('TokenResponse has exactly the fields startSession returns', async () => {
      const tokens = await startSession(
        {
          sessions: { create: async () => undefined } as unknown as Deps['sessions'],
          accessTokens: { issue: async () => ({ token: 'a.b.c' }) } as unknown as Deps['accessTokens'],
          tenantPolicy: { get: async () => ({}) } as unknown as Deps['tenantPolicy'],
          clock: { now: () => new Date('2026-11-22T10:00:00.000Z') },
        },
        user,
        'laptop',
      );
      const fields = sorted(Object.keys(tokens));
      expect(propertyNames('TokenResponse')).toEqual(fields);
      expect(requiredNames('TokenResponse')).toEqual(fields);
      expect(child(child(schemas, 'TokenResponse'), 'properties')['tokenType']).toMatchObject({
        const: tokens.tokenType,
      });
    });

    it('SessionInfo has exactly the fields describeSession returns', () => {
      const info = describeSession({
        userId: 'u',
        sessionId: 's',
        tokenVersion: 1,
        issuedAt: 1,
        expiresAt: 901,
      });
      expect(propertyNames('SessionInfo')).toEqual(sorted(Object.keys(info)));
      expect(requiredNames('SessionInfo')).toEqual(sorted(Object.keys(info)));
    });

    it('ForgotPasswordAccepted is the one constant body the forgot route sends', () => {
      const accepted = child(schemas, 'ForgotPasswordAccepted');
      expect(sorted(Object.keys(accepted['properties'] as JsonObject))).toEqual(
        sorted(Object.keys(FORGOT_PASSWORD_ACCEPTED)),
      );
      expect(child(accepted, 'properties')['message']).toMatchObject({
        const: FORGOT_PASSWORD_ACCEPTED.message,
      });
    });

    it('PublicJwk documents every member of a published key, and the key holds no private member', async () => {
      const { publicJwks } = await importSigningKeys({
        keys: [await generateSigningKey('ES256', new Date())],
      });
      for (const jwk of publicJwks) {
        const members = sorted(Object.keys(jwk));
        expect(members.filter((member) => !propertyNames('PublicJwk').includes(member))).toEqual([]);
        expect(requiredNames('PublicJwk').filter((member) => !members.includes(member))).toEqual([]);
        expect(members).not.toContain('d');
      }
    });

    const incidentDeps = (now: Date) =>
      ({
        config: { campaigns: { maxReminders: 2, scanSegments: 4 } },
        clock: { now: () => now },
        tenantPolicy: { raise: async () => undefined },
        revocation: { forget: () => undefined },
        incidents: { create: async () => undefined },
        dispatcherTrigger: { trigger: async () => undefined },
        // A scope-all incident records one tenant-wide security event (the Shared Signals fan-out reads it).
        events: { record: async () => undefined },
      }) as unknown as Parameters<typeof createIncident>[0];
    const declare = (now: Date, notify: Record<string, unknown>) =>
      createIncident(
        incidentDeps(now),
        incidentRequestSchemas.createIncidentBody.parse({
          title: 'Credential database copied',
          scope: { type: 'all' },
          actions: { forcePasswordReset: true, revokeSessions: true },
          notify,
        }),
        { warn: () => undefined },
      );

    it('Incident has exactly the fields createIncident returns, all required; IncidentNotify those it echoes', async () => {
      const now = new Date();
      const incident = await declare(now, {
        enabled: true,
        sendAt: new Date(now.getTime() + 86_400_000).toISOString(),
        remindAfterHours: 24,
      });
      const fields = sorted(Object.keys(incident));
      // Fields only an incident with `scope: list` has (documented as optional).
      expect(propertyNames('Incident')).toEqual(sorted([...fields, 'audience']));
      expect(requiredNames('Incident')).toEqual(fields);
      expect(propertyNames('IncidentNotify')).toEqual(sorted(Object.keys(incident.notify)));
      const counts = sorted(Object.keys(incident.counts));
      expect(propertyNames('IncidentCounts')).toEqual(sorted([...counts, 'effectsApplied']));
      expect(requiredNames('IncidentCounts')).toEqual(counts);
      const idPattern = child(child(child(schemas, 'Incident'), 'properties'), 'id')['pattern'];
      expect(incident.id).toMatch(new RegExp(String(idPattern)));
    });

    it('Incident allows what an incident without notification looks like: completed, sendAt null', async () => {
      const incident = await declare(new Date(), { enabled: false });
      const properties = child(child(schemas, 'Incident'), 'properties');
      expect(incident).toMatchObject({ status: 'completed', sendAt: null, reminders: [] });
      expect(child(properties, 'status')['enum']).toContain(incident.status);
      expect(child(properties, 'sendAt')['type']).toContain('null');
    });

    it('IncidentReminder has exactly the fields of a reminder round getIncident returns, all required', async () => {
      const now = Date.now();
      const record = {
        id: 'inc_00mwro18g09c3f5e21',
        title: 'Credential database copied',
        status: 'completed',
        createdAt: new Date(now).toISOString(),
        createdAtMs: now,
        sendAt: new Date(now).toISOString(),
        scope: { type: 'all' },
        actions: { forcePasswordReset: true, revokeSessions: true },
        notify: { enabled: true, remindAfterHours: 24 },
        maxReminders: 2,
        round: 1,
        phase: 'waiting',
        dueAt: now + 86_400_000,
        segments: 4,
        cursors: {},
        rounds: { '0': { startedAt: now, walkDoneAt: now, completedAt: now } },
      } as IncidentRecord;
      const incident = await getIncident(
        {
          incidents: {
            get: async () => record,
            settlement: async () => ({ byRound: new Map(), lastActivityAt: 0 }),
          },
        } as unknown as Parameters<typeof getIncident>[0],
        record.id,
      );
      const [reminder] = incident.reminders;
      if (!reminder) throw new Error('getIncident returned no reminder round');
      const fields = sorted(Object.keys(reminder));
      expect(propertyNames('IncidentReminder')).toEqual(fields);
      expect(requiredNames('IncidentReminder')).toEqual(fields);
      expect(child(child(child(schemas, 'IncidentReminder'), 'properties'), 'status')['enum']).toContain(
        reminder.status,
      );
    });

    it('ForceResetResult has exactly the fields forcePasswordReset returns, all required', async () => {
      const result = await forcePasswordReset(
        {
          users: { get: async () => user, setMustResetPassword: async () => user },
          clock: { now: () => new Date() },
          events: { record: async () => undefined },
          revocation: { forget: () => undefined },
          notifications: { enqueue: async () => undefined },
        } as unknown as Parameters<typeof forcePasswordReset>[0],
        user.userId,
        { revokeSessions: true, notify: true },
      );
      const fields = sorted(Object.keys(result));
      expect(propertyNames('ForceResetResult')).toEqual(fields);
      expect(requiredNames('ForceResetResult')).toEqual(fields);
    });
  });
});

// ---- Schema comparison ------------------------------------------------------------------------------------

/** Keywords that change what a request may contain; descriptions and examples are free to differ. */
const COMPARED_KEYWORDS = [
  'type',
  'enum',
  'const',
  'default',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'uniqueItems',
] as const;

/** zod inlines reused schemas by default, so its nodes need no $ref resolution (and must not use openapi's). */
function zodNode(node: unknown): JsonObject {
  if (!isObject(node)) throw new Error(`Unexpected zod JSON Schema node ${JSON.stringify(node)}`);
  if (node['$ref'] !== undefined)
    throw new Error(`zod emitted a $ref (${String(node['$ref'])}); inline it or resolve it here`);
  return node;
}

/** refinedConstraintsByRoute entries of one route, and which of them a comparison reached. */
class RefinedConstraints {
  private readonly reached = new Set<string>();

  constructor(private readonly byNode: Readonly<Record<string, JsonObject>>) {}

  /** zod's node with the documented refinements added, and a sentence for each one zod now emits itself. */
  apply(fromZod: JsonObject, where: string): { node: JsonObject; problems: string[] } {
    const extra = this.byNode[where];
    if (!extra) return { node: fromZod, problems: [] };
    this.reached.add(where);
    const problems = Object.keys(extra)
      .filter((keyword) => fromZod[keyword] !== undefined)
      .map((keyword) => `${where}: zod now emits ${keyword} itself; drop it from refinedConstraintsByRoute`);
    return { node: { ...fromZod, ...extra }, problems };
  }

  unused(): string[] {
    return Object.keys(this.byNode)
      .filter((where) => !this.reached.has(where))
      .map((where) => `${where}: refinedConstraintsByRoute names a node the comparison never reaches`);
  }
}

/** Differences between zod's JSON Schema (input side) and the documented schema, one sentence each. */
function schemaDifferences(
  zodSide: JsonObject,
  documentedNode: unknown,
  where: string,
  refined: RefinedConstraints = new RefinedConstraints({}),
): string[] {
  const documented = deref(documentedNode);
  const { node: fromZod, problems } = refined.apply(zodSide, where);
  for (const keyword of COMPARED_KEYWORDS) {
    if (!isDeepStrictEqual(fromZod[keyword], documented[keyword])) {
      problems.push(
        `${where}: ${keyword} is ${JSON.stringify(documented[keyword])} in openapi.yaml but ${JSON.stringify(fromZod[keyword])} in zod`,
      );
    }
  }

  const zodProperties = isObject(fromZod['properties']) ? fromZod['properties'] : undefined;
  const documentedProperties = isObject(documented['properties']) ? documented['properties'] : undefined;
  if (zodProperties || documentedProperties) {
    const zodNames = sorted(Object.keys(zodProperties ?? {}));
    const documentedNames = sorted(Object.keys(documentedProperties ?? {}));
    if (!isDeepStrictEqual(zodNames, documentedNames)) {
      problems.push(
        `${where}: properties are ${documentedNames.join(', ')} in openapi.yaml but ${zodNames.join(', ')} in zod`,
      );
    }
    const zodRequired = sorted((fromZod['required'] as string[] | undefined) ?? []);
    const documentedRequired = sorted((documented['required'] as string[] | undefined) ?? []);
    if (!isDeepStrictEqual(zodRequired, documentedRequired)) {
      problems.push(
        `${where}: required is [${documentedRequired.join(', ')}] in openapi.yaml but [${zodRequired.join(', ')}] in zod`,
      );
    }
    if (fromZod['additionalProperties'] === false && documented['additionalProperties'] !== false) {
      problems.push(
        `${where}: zod refuses unknown fields but openapi.yaml does not say additionalProperties: false`,
      );
    }
    for (const name of zodNames.filter((candidate) => documentedNames.includes(candidate))) {
      problems.push(
        ...schemaDifferences(
          zodNode(zodProperties?.[name]),
          documentedProperties?.[name],
          `${where}.${name}`,
          refined,
        ),
      );
    }
  }

  if (fromZod['items'] !== undefined || documented['items'] !== undefined) {
    if (fromZod['items'] === undefined || documented['items'] === undefined) {
      problems.push(`${where}: only one side describes array items`);
    } else {
      problems.push(
        ...schemaDifferences(zodNode(fromZod['items']), documented['items'], `${where}[]`, refined),
      );
    }
  }

  const zodUnion = (fromZod['anyOf'] ?? fromZod['oneOf']) as unknown[] | undefined;
  const documentedUnion = (documented['oneOf'] ?? documented['anyOf']) as unknown[] | undefined;
  if (zodUnion || documentedUnion) {
    if (!zodUnion || !documentedUnion || zodUnion.length !== documentedUnion.length) {
      problems.push(
        `${where}: the union has ${documentedUnion?.length ?? 0} branches in openapi.yaml but ${zodUnion?.length ?? 0} in zod`,
      );
    } else {
      zodUnion.forEach((branch, index) => {
        problems.push(
          ...schemaDifferences(zodNode(branch), documentedUnion[index], `${where}|${index}`, refined),
        );
      });
    }
  }
  return problems;
}
