import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { IdempotencyKeyInUseError, IdempotencyKeyReusedError, InvalidRequestError } from '../errors.js';
import type { IdempotencyStore } from '../ports/idempotency-store.js';
import type { HttpResult } from './responses.js';

/** CONTRACT.md: the same key with the same request answers the first response again for 24 hours. */
const IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60;

/** 1-128 printable ASCII characters (space to tilde). */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,128}$/;

/** The `Idempotency-Key` header, checked; undefined when the request has none (the write then runs as usual). */
export function idempotencyKeyOf(headers: Readonly<Record<string, string | undefined>> | undefined) {
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'idempotency-key');
  if (entry === undefined || entry[1] === undefined) return undefined;
  const key = entry[1];
  if (!IDEMPOTENCY_KEY.test(key) || key.trim() === '') {
    throw new InvalidRequestError('The Idempotency-Key header must be 1 to 128 printable ASCII characters.', [
      { path: 'Idempotency-Key', message: 'Must be 1 to 128 printable ASCII characters.' },
    ]);
  }
  return key;
}

/** What makes two requests "the same": the route, its path parameters and the validated body. */
export interface IdempotentRequest {
  readonly routeKey: string;
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
}

interface IdempotentPayload {
  readonly key: string;
  readonly request: IdempotentRequest;
}

/**
 * Runs `execute` at most once per key (Powertools idempotency on the records table):
 * - first request: an in-progress record is written with a conditional put, the handler runs, its response is
 *   stored for 24 h; if the handler fails the record is deleted, so a retry runs it again;
 * - same key, same request, completed: the stored response (same status, body and headers), nothing runs;
 * - same key, same request, still running: 409 `idempotency_key_in_use` with `retry-after: 1` at once (the
 *   in-progress record expires with the Lambda's own timeout, so a crashed run does not block the key for 24 h);
 * - same key, another route or body: 409 `idempotency_key_reused`.
 * The key is scoped per route group (`keyPrefix`); within it, one key names one request whatever the route.
 */
export async function runIdempotent(
  store: IdempotencyStore,
  options: { key: string; keyPrefix: string; request: IdempotentRequest; context: Context },
  execute: () => Promise<HttpResult>,
): Promise<HttpResult> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'request',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: IDEMPOTENCY_WINDOW_SECONDS,
    hashFunction: 'sha256',
    lambdaContext: options.context,
  });
  // The response is kept as one JSON string: a DynamoDB map would refuse undefined fields and reorder nothing
  // we care about, but a string comes back byte for byte.
  let ran = false;
  const once = makeIdempotent(
    async (_payload: IdempotentPayload) => {
      ran = true;
      return JSON.stringify(await execute());
    },
    {
      persistenceStore: store,
      config,
      keyPrefix: options.keyPrefix,
      dataIndexArgument: 0,
    },
  );
  try {
    const stored = await once({ key: options.key, request: options.request });
    if (ran) return JSON.parse(stored) as HttpResult;
    // A replay: tell the client (and the access log) that nothing ran this time.
    const replayed = JSON.parse(stored) as HttpResult;
    return { ...replayed, headers: { ...replayed.headers, 'idempotent-replayed': 'true' } };
  } catch (error) {
    if (error instanceof IdempotencyValidationError) throw new IdempotencyKeyReusedError();
    if (error instanceof IdempotencyAlreadyInProgressError) throw new IdempotencyKeyInUseError();
    // A DynamoDB failure of the record itself: surface the AWS error, which error-response.ts maps to 503.
    if (error instanceof IdempotencyPersistenceLayerError && error.cause !== undefined) throw error.cause;
    throw error;
  }
}
