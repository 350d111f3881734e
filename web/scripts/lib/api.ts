/**
 * Calls to the account-shield API on this same origin. Errors come back as values (the contract's error
 * body plus the status and retry-after), so each page decides what to say; nothing here throws for a 4xx.
 */
import { clearSession, readSession, type StoredSession, saveSession } from './session.js';

export interface ApiError {
  readonly status: number;
  readonly error: string;
  readonly message: string;
  readonly reasons?: readonly string[];
  /** Seconds, from the retry-after header of 429 and 503 answers. */
  readonly retryAfter?: number;
}

export type ApiResult<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | ({ readonly ok: false } & ApiError);

export interface TokenResponse {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly sessionId: string;
  readonly user: PublicUser;
}

export interface PublicUser {
  readonly id: string;
  readonly email: string;
  readonly username?: string | null;
  readonly authMethod: 'password' | 'sso';
  readonly mfaEnabled: boolean;
}

type Method = 'GET' | 'POST' | 'DELETE';

async function send<T>(
  method: Method,
  path: string,
  body: unknown,
  accessToken?: string,
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return { ok: false, status: 0, error: 'network', message: 'The service could not be reached.' };
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.ok) return { ok: true, status: response.status, body: parsed as T };
  const errorBody = (parsed ?? {}) as Partial<ApiError>;
  const retryAfterHeader = Number(response.headers.get('retry-after'));
  return {
    ok: false,
    status: response.status,
    error: typeof errorBody.error === 'string' ? errorBody.error : `http_${response.status}`,
    message: typeof errorBody.message === 'string' ? errorBody.message : '',
    ...(Array.isArray(errorBody.reasons) ? { reasons: errorBody.reasons } : {}),
    ...(Number.isFinite(retryAfterHeader) && retryAfterHeader > 0 ? { retryAfter: retryAfterHeader } : {}),
  };
}

/** A call without a session (sign-in, forgot and reset password, the SSO provider list). */
export function callPublic<T>(method: Method, path: string, body?: unknown): Promise<ApiResult<T>> {
  return send<T>(method, path, body);
}

let refreshing: Promise<StoredSession | undefined> | undefined;

/** Access tokens last 15 minutes; one refresh (rotating the refresh token) keeps a long-open page working. */
function refreshOnce(session: StoredSession): Promise<StoredSession | undefined> {
  refreshing ??= send<TokenResponse>('POST', '/v1/auth/refresh', { refreshToken: session.refreshToken })
    .then((result) => {
      if (!result.ok) return undefined;
      saveSession(result.body);
      return readSession();
    })
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

/**
 * A call with the stored session. A revoked or expired access token gets one refresh; when that fails too the
 * session is over (signed out elsewhere, revoked by an incident), so it is dropped and `signedOut` is set.
 */
export async function callSigned<T>(
  method: Method,
  path: string,
  body?: unknown,
): Promise<ApiResult<T> & { readonly signedOut?: boolean }> {
  const session = readSession();
  if (!session) return { ok: false, status: 401, error: 'invalid_token', message: '', signedOut: true };
  const first = await send<T>(method, path, body, session.accessToken);
  if (first.ok || first.status !== 401 || first.error !== 'invalid_token') return first;
  const renewed = await refreshOnce(session);
  if (!renewed) {
    clearSession();
    return { ...first, signedOut: true };
  }
  const second = await send<T>(method, path, body, renewed.accessToken);
  if (!second.ok && second.status === 401 && second.error === 'invalid_token') {
    clearSession();
    return { ...second, signedOut: true };
  }
  return second;
}
