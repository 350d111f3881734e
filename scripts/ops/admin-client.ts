/**
 * Typed client for the admin routes of the account-shield HTTP API (CONTRACT.md, "Admin (ops)").
 * Transport (`fetch`) and authentication (a RequestSigner: the local runner's bearer token, or SigV4
 * for a deployed stack's IAM-authorised routes) are ports, so tests run it against a plain local
 * server with fixed credentials.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Checksum,
  HttpRequest,
  SourceData,
} from '@smithy/types';
import { z } from 'zod';
import { INCIDENT_STATUSES, type IncidentScope } from '../../shared/domain/incident.js';

// The API's incident scope and statuses are the domain's; a `list` scope's entries follow through addAudience,
// then closeAudience.
export type { IncidentScope, IncidentStatus } from '../../shared/domain/incident.js';

export interface CreateIncidentRequest {
  readonly title: string;
  readonly scope: IncidentScope;
  readonly actions: { readonly forcePasswordReset: boolean; readonly revokeSessions: boolean };
  readonly notify: {
    readonly enabled: boolean;
    readonly sendAt?: string;
    readonly remindAfterHours?: number;
  };
}

export interface AdminUserInput {
  readonly email: string;
  readonly username?: string;
  readonly authMethod: 'password' | 'sso';
  readonly password?: string;
}

export interface ForceResetOptions {
  readonly revokeSessions: boolean;
  readonly notify: boolean;
}

/**
 * Sent as `Idempotency-Key` (CONTRACT.md "Idempotent admin writes"): with one, the API runs the write at most
 * once, so the client may retry it after a timeout or a 503 with the same key, and does.
 */
export interface WriteOptions {
  readonly idempotencyKey?: string;
}

// Responses are checked so that pointing the CLI at the wrong server fails with a clear message
// instead of printing "undefined"; loose objects keep any extra fields for --json output.
const countsSchema = z.looseObject({
  targeted: z.number(),
  queued: z.number(),
  sent: z.number(),
  skipped: z.number(),
  failed: z.number(),
});

const incidentSchema = z.looseObject({
  id: z.string().min(1),
  title: z.string(),
  status: z.enum(INCIDENT_STATUSES),
  createdAt: z.string(),
  sendAt: z.string().nullish(),
  scope: z.looseObject({ type: z.string() }).optional(),
  actions: z.looseObject({ forcePasswordReset: z.boolean(), revokeSessions: z.boolean() }).optional(),
  counts: countsSchema,
});

const userSchema = z.looseObject({
  id: z.string().min(1),
  email: z.string(),
  username: z.string().nullish(),
  authMethod: z.string(),
});

const incidentEnvelope = z.looseObject({ incident: incidentSchema });
const incidentListEnvelope = z.looseObject({ incidents: z.array(incidentSchema) });
const userEnvelope = z.looseObject({ user: userSchema });

export type Incident = z.infer<typeof incidentSchema>;
export type IncidentCounts = z.infer<typeof countsSchema>;
export type AdminUser = z.infer<typeof userSchema>;

/** What the contract allows per request body; anything larger is refused before it is sent. */
const MAX_REQUEST_BODY_BYTES = 16 * 1024;
/** The user import route takes up to 1 MiB. */
const MAX_IMPORT_BODY_BYTES = 1024 * 1024;

export interface ImportRowResult {
  readonly index: number;
  readonly status: 'created' | 'exists' | 'invalid';
  readonly userId?: string;
  readonly error?: string;
  readonly message?: string;
  readonly details?: readonly ErrorDetail[];
}

const importResultsEnvelope = z.object({
  results: z.array(
    z.looseObject({
      index: z.number().int(),
      status: z.enum(['created', 'exists', 'invalid']),
      userId: z.string().optional(),
      error: z.string().optional(),
      message: z.string().optional(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  ),
});

const DEFAULT_TIMEOUT_MS = 30_000;
/** Attempts of one write sent with an Idempotency-Key (the first included). */
const DEFAULT_WRITE_ATTEMPTS = 4;
const MAX_WRITE_RETRY_WAIT_MS = 10_000;
/** "Not done (yet), try later" answers: with the same key a retry cannot run the write twice. */
const RETRYABLE_WRITE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

/** The API answered with a non-2xx status. */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    readonly status: number,
    /** The contract's error code, or `http_<status>` when the body had none (e.g. API Gateway's own 403). */
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    readonly reasons: readonly string[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** No HTTP answer at all: refused, reset, DNS failure or timeout. */
export class AdminUnreachableError extends Error {
  override readonly name = 'AdminUnreachableError';
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`could not reach ${url}: ${reason}`, options);
  }
}

/** A 2xx whose body is not what the contract promises, usually a wrong `--api` URL. */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`unexpected response from ${url} (HTTP ${status}); is --api pointing at an account-shield API?`);
  }
}

export class RequestTooLargeError extends Error {
  override readonly name = 'RequestTooLargeError';
  constructor(readonly bytes: number) {
    super(`the request body is ${bytes} bytes; the API accepts at most ${MAX_REQUEST_BODY_BYTES}`);
  }
}

export class InsecureTransportError extends Error {
  override readonly name = 'InsecureTransportError';
  constructor(host: string) {
    super(`refusing to send the admin token over plain HTTP to ${host}; use an https:// URL`);
  }
}

export interface SignableRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Adds authentication to a request; returns the complete header set to send. */
export interface RequestSigner {
  sign(request: SignableRequest): Promise<Record<string, string>>;
}

export type FetchPort = (url: string, init: RequestInit) => Promise<Response>;

export interface AdminClientOptions {
  /** The API's base URL; a path prefix (API Gateway stage) is kept. */
  readonly baseUrl: string;
  readonly fetch: FetchPort;
  readonly signer: RequestSigner;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** Attempts of a write that carries an Idempotency-Key (writes without one are sent once). @default 4 */
  readonly writeAttempts?: number;
  /** Waits between write attempts. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The operations the CLI commands need; AdminClient is the HTTP implementation. */
export interface AdminApi {
  createUser(user: AdminUserInput, signal?: AbortSignal, write?: WriteOptions): Promise<AdminUser>;
  forceReset(userId: string, options: ForceResetOptions, write?: WriteOptions): Promise<void>;
  createIncident(request: CreateIncidentRequest, write?: WriteOptions): Promise<Incident>;
  /** One batch of `POST /v1/admin/users/import`; the key makes a retried batch a replay, not a second import. */
  importUsers(
    batch: { users: readonly unknown[]; mustResetPassword?: boolean },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ImportRowResult[]>;
  getIncident(id: string, signal?: AbortSignal): Promise<Incident>;
  listIncidents(): Promise<Incident[]>;
  /** The incident after cancelling, when the API returns it. */
  cancelIncident(id: string): Promise<Incident | undefined>;
  /** One chunk of a listed audience; `key` makes a resend count once. */
  addAudience(
    id: string,
    entries: readonly string[],
    key: string,
  ): Promise<{ received: number; total: number }>;
  closeAudience(id: string): Promise<Incident>;
  /** One page of the per-entry report (JSON lines) and the cursor of the next, if any. */
  reportPage(
    id: string,
    cursor: string | undefined,
  ): Promise<{ text: string; nextCursor: string | undefined }>;
}

/** The audience route takes up to 1 MiB per request (the others 16 KiB). */
const AUDIENCE_BODY_BYTES = 1024 * 1024;
const audienceAnswer = z.looseObject({ received: z.number(), total: z.number() });

export class AdminClient implements AdminApi {
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(private readonly options: AdminClientOptions) {
    this.base = parseBaseUrl(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async createUser(user: AdminUserInput, signal?: AbortSignal, write: WriteOptions = {}): Promise<AdminUser> {
    const { url, status, body } = await this.write('/v1/admin/users', user, write, signal);
    return parseBody(userEnvelope, body, url, status).user;
  }

  async forceReset(userId: string, options: ForceResetOptions, write: WriteOptions = {}): Promise<void> {
    await this.write(
      `/v1/admin/users/${encodeURIComponent(userId)}/force-reset`,
      { revokeSessions: options.revokeSessions, notify: options.notify },
      write,
    );
  }

  async importUsers(
    batch: { users: readonly unknown[]; mustResetPassword?: boolean },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ImportRowResult[]> {
    const { url, status, body } = await this.request('POST', '/v1/admin/users/import', batch, signal, {
      headers: { 'idempotency-key': idempotencyKey },
      maxBodyBytes: MAX_IMPORT_BODY_BYTES,
    });
    const { results } = parseBody(importResultsEnvelope, body, url, status);
    if (results.length !== batch.users.length) throw new UnexpectedResponseError(url, status);
    return results;
  }

  async createIncident(request: CreateIncidentRequest, write: WriteOptions = {}): Promise<Incident> {
    const { url, status, body } = await this.write('/v1/admin/incidents', request, write);
    return parseBody(incidentEnvelope, body, url, status).incident;
  }

  async getIncident(id: string, signal?: AbortSignal): Promise<Incident> {
    const { url, status, body } = await this.request(
      'GET',
      `/v1/admin/incidents/${encodeURIComponent(id)}`,
      undefined,
      signal,
    );
    return parseBody(incidentEnvelope, body, url, status).incident;
  }

  async listIncidents(): Promise<Incident[]> {
    const { url, status, body } = await this.request('GET', '/v1/admin/incidents');
    return parseBody(incidentListEnvelope, body, url, status).incidents;
  }

  async cancelIncident(id: string): Promise<Incident | undefined> {
    const { body } = await this.request('POST', `/v1/admin/incidents/${encodeURIComponent(id)}/cancel`, {});
    // The contract only promises a 200 here; show the incident when the API includes it.
    const parsed = incidentEnvelope.safeParse(body);
    return parsed.success ? parsed.data.incident : undefined;
  }

  /**
   * A POST that changes something. With an Idempotency-Key it is retried, with the same key, after a lost
   * answer (timeout, reset), a throttle, a 502/503/504 or `idempotency_key_in_use`: the API answers a repeat
   * with the first response instead of running it again. Without a key it is sent exactly once.
   */
  private async write(
    path: string,
    payload: unknown,
    write: WriteOptions,
    signal?: AbortSignal,
  ): Promise<{ url: string; status: number; body: unknown }> {
    const key = write.idempotencyKey;
    const attempts = key === undefined ? 1 : (this.options.writeAttempts ?? DEFAULT_WRITE_ATTEMPTS);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.request(
          'POST',
          path,
          payload,
          signal,
          key === undefined ? {} : { headers: { 'idempotency-key': key } },
        );
      } catch (error) {
        const waitMs = attempt < attempts ? writeRetryDelayMs(error, attempt) : undefined;
        if (waitMs === undefined || signal?.aborted) throw error;
        await (this.options.sleep ?? defaultSleep)(waitMs);
        if (signal?.aborted) throw error;
      }
    }
  }

  async addAudience(id: string, entries: readonly string[], key: string) {
    const { url, status, body } = await this.request(
      'POST',
      `/v1/admin/incidents/${encodeURIComponent(id)}/audience`,
      { entries },
      undefined,
      { headers: { 'idempotency-key': key }, maxBodyBytes: AUDIENCE_BODY_BYTES },
    );
    return parseBody(audienceAnswer, body, url, status);
  }

  async closeAudience(id: string): Promise<Incident> {
    const path = `/v1/admin/incidents/${encodeURIComponent(id)}/audience/close`;
    const { url, status, body } = await this.request('POST', path, {});
    return parseBody(incidentEnvelope, body, url, status).incident;
  }

  async reportPage(id: string, cursor: string | undefined) {
    const query = cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`;
    const { text, headers } = await this.request(
      'GET',
      `/v1/admin/incidents/${encodeURIComponent(id)}/report${query}`,
      undefined,
      undefined,
      { rawText: true },
    );
    return { text, nextCursor: headers.get('x-next-cursor') ?? undefined };
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    payload?: unknown,
    signal?: AbortSignal,
    extra: { headers?: Record<string, string>; maxBodyBytes?: number; rawText?: boolean } = {},
  ): Promise<{ url: string; status: number; body: unknown; text: string; headers: Headers }> {
    const url = new URL(this.base.href);
    const [pathname, search] = path.split('?') as [string, string | undefined];
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${pathname}`;
    if (search !== undefined) url.search = `?${search}`;
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const maxBytes = extra.maxBodyBytes ?? MAX_REQUEST_BODY_BYTES;
    if (body !== undefined && Buffer.byteLength(body, 'utf8') > maxBytes) {
      throw new RequestTooLargeError(Buffer.byteLength(body, 'utf8'));
    }
    const headers = await this.options.signer.sign({
      method,
      url,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...extra.headers,
      },
      ...(body === undefined ? {} : { body }),
    });

    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.options.fetch(url.href, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        // The API never redirects; following one would replay the admin credentials somewhere else.
        redirect: 'manual',
      });
      text = await response.text();
    } catch (error) {
      // The caller's own abort (Ctrl-C in watch) is not a connectivity problem: let it through as is.
      if (signal?.aborted) throw error;
      if (timeout.aborted) {
        throw new AdminUnreachableError(url.href, `no answer within ${Math.round(this.timeoutMs / 1000)} s`, {
          cause: error,
        });
      }
      throw new AdminUnreachableError(url.href, networkReason(error), { cause: error });
    }

    if (extra.rawText && response.ok)
      return { url: url.href, status: response.status, body: undefined, text, headers: response.headers };
    const parsed = parseJson(text);
    if (!response.ok) throw toApiError(response, parsed, text);
    if (text !== '' && parsed === undefined) throw new UnexpectedResponseError(url.href, response.status);
    return { url: url.href, status: response.status, body: parsed, text, headers: response.headers };
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long to wait before repeating a keyed write, or undefined when repeating cannot help. */
function writeRetryDelayMs(error: unknown, attempt: number): number | undefined {
  const backoffMs = 1000 * 2 ** (attempt - 1);
  if (error instanceof AdminUnreachableError) return Math.min(backoffMs, MAX_WRITE_RETRY_WAIT_MS);
  if (!(error instanceof AdminApiError)) return undefined;
  const retryable =
    RETRYABLE_WRITE_STATUSES.has(error.status) ||
    (error.status === 409 && error.code === 'idempotency_key_in_use');
  if (!retryable) return undefined;
  const askedMs = error.retryAfterSeconds === undefined ? backoffMs : error.retryAfterSeconds * 1000;
  return Math.min(askedMs, MAX_WRITE_RETRY_WAIT_MS);
}

/** 1-128 printable ASCII characters, as the API accepts in `Idempotency-Key`. */
export function isValidIdempotencyKey(key: string): boolean {
  return /^[\x20-\x7e]{1,128}$/.test(key) && key.trim() !== '';
}

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`--api must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`--api must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new Error('--api must not carry a query, fragment or credentials');
  }
  return url;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, url: string, status: number): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new UnexpectedResponseError(url, status);
  return parsed.data;
}

const apiErrorBody = z.looseObject({
  error: z.string().optional(),
  message: z.string().optional(),
  // API Gateway's own rejections (IAM, throttling) use a capitalised key.
  Message: z.string().optional(),
  details: z.array(z.looseObject({ path: z.string().catch(''), message: z.string() })).optional(),
  reasons: z.array(z.string()).optional(),
});

function toApiError(response: Response, parsed: unknown, text: string): AdminApiError {
  const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined;
  const body = apiErrorBody.safeParse(parsed);
  const fields = body.success ? body.data : {};
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  const message = fields.message ?? fields.Message ?? (snippet || response.statusText || 'no message');
  return new AdminApiError(
    response.status,
    fields.error ?? `http_${response.status}`,
    message,
    (fields.details ?? []).map(({ path, message: detail }) => ({ path, message: detail })),
    fields.reasons ?? [],
    retryAfterSeconds,
  );
}

/**
 * undici reports every failure as "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND) is in the
 * cause. Duck-typed because fetch's errors come from another realm under some test runners.
 */
function networkReason(error: unknown): string {
  const fields = (value: unknown): { code?: unknown; message?: unknown; cause?: unknown } =>
    typeof value === 'object' && value !== null ? value : {};
  const cause = fields(error).cause === undefined ? fields(error) : fields(fields(error).cause);
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    EAI_AGAIN: 'DNS lookup failed',
  };
  const message = typeof cause.message === 'string' ? cause.message : String(error);
  return typeof cause.code === 'string' ? `${known[cause.code] ?? message} (${cause.code})` : message;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * The local runner's admin authentication. The token is a long-lived secret, so it is only ever sent
 * over TLS or to this machine.
 */
export function bearerTokenSigner(token: string): RequestSigner {
  return {
    async sign(request) {
      if (request.url.protocol === 'http:' && !isLoopback(request.url.hostname)) {
        throw new InsecureTransportError(request.url.host);
      }
      return { ...request.headers, authorization: `Bearer ${token}` };
    },
  };
}

export interface SigV4SignerOptions {
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** IAM authorisation for API Gateway (`execute-api`), as deployed stacks require on admin routes. */
export function sigV4Signer(options: SigV4SignerOptions): RequestSigner {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: NodeSha256,
  });
  const now = options.now ?? (() => new Date());
  return {
    async sign(request) {
      const query: Record<string, string | string[]> = {};
      for (const key of new Set(request.url.searchParams.keys())) {
        const values = request.url.searchParams.getAll(key);
        query[key] = values.length === 1 ? (values[0] ?? '') : values;
      }
      const toSign: HttpRequest = {
        method: request.method,
        protocol: request.url.protocol,
        hostname: request.url.hostname,
        ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
        path: request.url.pathname,
        query,
        // `host` must be signed; URL.host carries a non-default port exactly as fetch will send it.
        headers: { ...request.headers, host: request.url.host },
        ...(request.body === undefined ? {} : { body: request.body }),
      };
      const signed = await signer.sign(toSign, { signingDate: now() });
      // fetch derives Host from the URL itself (to the same value) and refuses to take it as a header.
      return Object.fromEntries(
        Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'),
      );
    },
  };
}

/** SHA-256 / HMAC-SHA-256 for the signer from node:crypto, so no extra hashing package is needed. */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.create();
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** Where a SigV4 region can come from when none is given: an `execute-api` default endpoint's host name. */
export function regionFromApiUrl(apiUrl: string): string | undefined {
  try {
    return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(new URL(apiUrl).hostname)?.[1];
  } catch {
    return undefined;
  }
}
