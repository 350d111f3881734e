import type { RequestOrigin } from '../domain/security-event.js';
import type { NotedSecurityEvent } from '../logging.js';
import type { Principal } from '../use-cases/authenticate.js';
import type { HttpResult } from './responses.js';
import type { AuthAction } from './routes.js';

/** What an error code means for an authentication attempt; other codes are logged as they are. */
const OUTCOME_BY_ERROR: Readonly<Record<string, string>> = {
  invalid_credentials: 'failed',
  invalid_grant: 'failed',
  invalid_token: 'failed',
  too_many_requests: 'throttled',
  mfa_required: 'mfa_required',
  invalid_otp: 'invalid_otp',
  password_reset_required: 'reset_required',
};

/** Outcomes an operator should look at (brute force, stolen refresh tokens). */
const WARN_OUTCOMES: ReadonlySet<string> = new Set(['throttled', 'reuse_detected']);

export interface AuthOutcome {
  readonly level: 'info' | 'warn';
  readonly fields: Record<string, unknown>;
}

const stringAt = (value: unknown, ...path: string[]): string | undefined => {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === 'string' ? current : undefined;
};

/**
 * The one structured line of an authentication request. Every field is picked by name from what is known to be
 * public (ids, the source address, an outcome word): never the request body, a token, a code, a hash or a
 * header, so no secret can reach the log through it.
 */
export function authOutcome(input: {
  readonly action: AuthAction;
  readonly result: HttpResult;
  readonly principal: Principal | undefined;
  readonly origin: RequestOrigin;
  readonly events: readonly NotedSecurityEvent[];
}): AuthOutcome {
  const { action, result, principal, origin, events } = input;
  const recorded = events.filter((event) => event.type !== 'second_factor_checked');
  const errorCode = result.status >= 400 ? stringAt(result.body, 'error') : undefined;
  let outcome = errorCode === undefined ? 'ok' : (OUTCOME_BY_ERROR[errorCode] ?? errorCode);
  if (events.some((event) => event.type === 'refresh_token_reused')) outcome = 'reuse_detected';
  const userId = principal?.userId ?? stringAt(result.body, 'user', 'id') ?? events[0]?.userId;
  const sessionId =
    principal?.sessionId ?? stringAt(result.body, 'sessionId') ?? events.find((e) => e.sessionId)?.sessionId;
  return {
    level: WARN_OUTCOMES.has(outcome) ? 'warn' : 'info',
    fields: {
      action,
      outcome,
      status: result.status,
      ...(userId === undefined ? {} : { userId }),
      ...(sessionId === undefined ? {} : { sessionId }),
      sourceIp: origin.ip,
      userAgent: origin.userAgent,
      ...(recorded.length > 0 ? { securityEvents: recorded.map((event) => event.type) } : {}),
    },
  };
}
