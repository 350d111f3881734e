/** Error codes of the JSON API (contract) and of the OAuth endpoints (RFC 6749 5.2, RFC 8628 3.5). */
export type ApiErrorCode =
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
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'weak_password'
  | 'too_many_requests'
  | 'unavailable'
  | 'internal_error'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  /** The server answered something this SDK does not know (a newer server, a proxy page). */
  | 'unexpected_response';

/** Every non-2xx answer, with the server's code and, for 429/503, how long to wait. */
export class AccountShieldError extends Error {
  override readonly name = 'AccountShieldError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Seconds from `retry-after`, when the server sent one. */
    readonly retryAfterSeconds?: number,
    /** `details` / `reasons` of the JSON error body, when present. */
    readonly body?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** Reads an error response of either shape: `{error, message}` (JSON API) or `{error, error_description}`. */
export async function errorFrom(response: Response): Promise<AccountShieldError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page): keep the status.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  const code = typeof body['error'] === 'string' ? (body['error'] as ApiErrorCode) : 'unexpected_response';
  const message =
    (typeof body['message'] === 'string' && body['message']) ||
    (typeof body['error_description'] === 'string' && body['error_description']) ||
    `HTTP ${response.status}`;
  return new AccountShieldError(
    response.status,
    code,
    message,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    body,
  );
}
