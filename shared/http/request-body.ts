import type { z } from 'zod';
import {
  type ErrorDetail,
  InvalidRequestError,
  OAuthError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../errors.js';

/** The contract's default cap; a route may declare a larger one (shared/http/routes.ts `maxBodyBytes`). */
export const MAX_BODY_BYTES = 16 * 1024;

interface RawBody {
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly contentType?: string;
}

function isJsonContentType(contentType: string): boolean {
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

/** zod issues -> the contract's `details` entries, naming each offending field. */
export function toErrorDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: 'Unknown field.' }));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [{ path: base || '(body)', message: 'Required.' }];
    }
    return [{ path: base || '(body)', message: issue.message }];
  });
}

/** The body as UTF-8 text (API Gateway base64-encodes some bodies), refused above `maxBytes`. */
function bodyText(raw: RawBody, maxBytes: number): string {
  const text =
    raw.body === undefined
      ? ''
      : raw.isBase64Encoded
        ? Buffer.from(raw.body, 'base64').toString('utf8')
        : raw.body;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new PayloadTooLargeError(maxBytes);
  return text;
}

/**
 * Size, media type, JSON syntax, then schema: each failure is the contract's 4xx with a sentence that
 * says what to fix, never a parser's stack or message.
 */
export function parseJsonBody<S extends z.ZodType>(
  raw: RawBody,
  schema: S,
  maxBytes: number = MAX_BODY_BYTES,
): z.infer<S> {
  const text = bodyText(raw, maxBytes);
  if (text.trim() === '') {
    // Routes whose fields are all optional accept no body at all, as a careful client would expect.
    const empty = schema.safeParse({});
    if (empty.success) return empty.data;
    throw new InvalidRequestError('A JSON request body is required.', [
      { path: '(body)', message: 'Required.' },
    ]);
  }
  if (!raw.contentType || !isJsonContentType(raw.contentType)) throw new UnsupportedMediaTypeError();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidRequestError('The request body is not valid JSON.', [
      { path: '(body)', message: 'Malformed JSON.' },
    ]);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidRequestError('The request body is invalid.', toErrorDetails(parsed.error));
  }
  return parsed.data;
}

function isFormContentType(contentType: string): boolean {
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * The OAuth endpoints' bodies (RFC 6749 3.2, RFC 7009, RFC 7662, RFC 8628): form-encoded, each parameter at
 * most once, unknown parameters ignored. Every mistake is the RFC's `invalid_request`, as OAuth clients expect.
 */
export function parseFormBody<S extends z.ZodType>(raw: RawBody, schema: S): z.infer<S> {
  const text = bodyText(raw, MAX_BODY_BYTES);
  if (text !== '' && (!raw.contentType || !isFormContentType(raw.contentType))) {
    throw new OAuthError(
      'invalid_request',
      'The request body must be form-encoded (content-type: application/x-www-form-urlencoded).',
    );
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in fields) throw new OAuthError('invalid_request', `The parameter ${name} is repeated.`);
    fields[name] = value;
  }
  const parsed = schema.safeParse(fields);
  if (!parsed.success) {
    const detail = toErrorDetails(parsed.error)[0];
    throw new OAuthError(
      'invalid_request',
      detail ? `Invalid parameter ${detail.path}: ${detail.message}` : 'Invalid request.',
    );
  }
  return parsed.data;
}
