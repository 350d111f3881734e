/**
 * Every error a client may see. Each carries the contract's error code and HTTP status; the HTTP
 * adapter (shared/http/http-api.ts) is the only place that turns them into responses. Anything that
 * is not an ApiError becomes a generic 500 (or 503 for a dependency outage) without details.
 */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'invalid_token'
  | 'invalid_grant'
  | 'mfa_required'
  | 'invalid_otp'
  | 'password_reset_required'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'account_exists'
  | 'idempotency_key_reused'
  | 'idempotency_key_in_use'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'weak_password'
  | 'too_many_requests'
  | 'unavailable'
  | 'internal_error';

export class ApiError extends Error {
  override readonly name: string = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class InvalidRequestError extends ApiError {
  override readonly name = 'InvalidRequestError';
  constructor(message: string, details: readonly ErrorDetail[] = []) {
    super(400, 'invalid_request', message, { details });
  }
}

export class InvalidCredentialsError extends ApiError {
  override readonly name = 'InvalidCredentialsError';
  constructor() {
    // One fixed sentence: unknown user, wrong password and SSO-only accounts must be indistinguishable.
    super(401, 'invalid_credentials', 'The login or password is incorrect.');
  }
}

export class InvalidTokenError extends ApiError {
  override readonly name = 'InvalidTokenError';
  constructor(message = 'The access token is missing, invalid, expired or revoked.') {
    super(401, 'invalid_token', message, {}, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
}

/** Unknown, expired and used reset tokens all get this same answer. */
export class InvalidResetTokenError extends ApiError {
  override readonly name = 'InvalidResetTokenError';
  constructor() {
    super(
      400,
      'invalid_token',
      'This password reset link is invalid, expired or already used. Request a new one.',
    );
  }
}

export class InvalidGrantError extends ApiError {
  override readonly name = 'InvalidGrantError';
  constructor() {
    super(401, 'invalid_grant', 'The refresh token is invalid, expired or revoked.');
  }
}

export class MfaRequiredError extends ApiError {
  override readonly name = 'MfaRequiredError';
  constructor() {
    super(401, 'mfa_required', 'A one-time code from your authenticator app is required.');
  }
}

export class InvalidOtpError extends ApiError {
  override readonly name = 'InvalidOtpError';
  constructor() {
    super(401, 'invalid_otp', 'The one-time code is invalid or was already used.');
  }
}

export class PasswordResetRequiredError extends ApiError {
  override readonly name = 'PasswordResetRequiredError';
  constructor() {
    super(
      403,
      'password_reset_required',
      'You must reset your password before signing in. Check your email for a password reset link.',
    );
  }
}

export class ForbiddenError extends ApiError {
  override readonly name = 'ForbiddenError';
  constructor(message = 'You are not allowed to do this.') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends ApiError {
  override readonly name = 'NotFoundError';
  constructor(message = 'Not found.') {
    super(404, 'not_found', message);
  }
}

export class AccountExistsError extends ApiError {
  override readonly name = 'AccountExistsError';
  constructor() {
    super(409, 'account_exists', 'An account with this email or username already exists.');
  }
}

/** The Idempotency-Key was already used, within 24 h, for a different request (route or body). */
export class IdempotencyKeyReusedError extends ApiError {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor() {
    super(
      409,
      'idempotency_key_reused',
      'This Idempotency-Key was already used for a different request. Use a new key for a new request.',
    );
  }
}

/**
 * The first request with this Idempotency-Key is still running. Answering at once (rather than waiting) keeps
 * the Lambda short; the client retries with the same key and then gets the first request's response.
 */
export class IdempotencyKeyInUseError extends ApiError {
  override readonly name = 'IdempotencyKeyInUseError';
  constructor() {
    super(
      409,
      'idempotency_key_in_use',
      'A request with this Idempotency-Key is still in progress. Retry with the same key shortly.',
      {},
      { 'retry-after': '1' },
    );
  }
}

export class PayloadTooLargeError extends ApiError {
  override readonly name = 'PayloadTooLargeError';
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `The request body must not exceed ${limitBytes} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  override readonly name = 'UnsupportedMediaTypeError';
  constructor() {
    super(415, 'unsupported_media_type', 'The request body must be JSON (content-type: application/json).');
  }
}

export type WeakPasswordReason =
  | 'too_short'
  | 'too_long'
  | 'common'
  | 'breached'
  | 'same_as_current'
  | 'contains_identifier';

export class WeakPasswordError extends ApiError {
  override readonly name = 'WeakPasswordError';
  constructor(readonly reasons: readonly WeakPasswordReason[]) {
    super(422, 'weak_password', 'The password does not meet the password policy.', { reasons });
  }
}

export class TooManyRequestsError extends ApiError {
  override readonly name = 'TooManyRequestsError';
  constructor(retryAfterSeconds: number, message = 'Too many attempts. Try again later.') {
    super(
      429,
      'too_many_requests',
      message,
      {},
      { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    );
  }
}

/** A dependency (DynamoDB, SQS, SES, Secrets Manager) is unreachable or throttling us. */
export class DependencyUnavailableError extends ApiError {
  override readonly name = 'DependencyUnavailableError';
  constructor(cause?: unknown) {
    super(
      503,
      'unavailable',
      'The service is temporarily unavailable. Try again shortly.',
      {},
      { 'retry-after': '5' },
      {
        cause,
      },
    );
  }
}

/** `POST /v1/auth/sso/exchange` with an unknown, used or expired one-time code (INTERFACES.md: 400). */
export class InvalidSsoCodeError extends ApiError {
  override readonly name = 'InvalidSsoCodeError';
  constructor() {
    super(400, 'invalid_grant', 'The sign-in code is invalid, expired or already used. Sign in again.');
  }
}

/**
 * Errors of the OAuth 2.0 protocol endpoints (/oauth2/*), whose clients are standard libraries that read
 * RFC 6749 section 5.2 bodies: `{"error", "error_description"}`. Kept apart from ApiError because the codes
 * and the body shape belong to the RFCs, not to this API's contract; the same mapper (error-response.ts) sends
 * both.
 */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_response_type',
  'access_denied',
  'authorization_pending',
  'slow_down',
  'expired_token',
] as const;
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  /** RFC 6749 5.2: 401 for a failed client authentication, 400 for everything else. */
  readonly status: number;
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.status = code === 'invalid_client' ? 401 : 400;
  }

  /** RFC 6749 5.2: a failed client authentication is a 401 with a challenge (always sent, whatever the method). */
  static invalidClient(description = 'Client authentication failed.'): OAuthError {
    return new OAuthError('invalid_client', description, {
      'www-authenticate': 'Basic realm="account-shield", error="invalid_client"',
    });
  }
}
