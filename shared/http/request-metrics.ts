import type { NotedSecurityEvent } from '../logging.js';
import { type SecurityMetricName, securityMetricNames } from '../ports/security-metrics.js';
import type { AuthAction } from './routes.js';

/** Login outcomes (shared/http/auth-outcome.ts) that count as a failed login: a wrong secret of any kind. */
const FAILED_LOGIN_OUTCOMES: ReadonlySet<string> = new Set(['failed', 'invalid_otp']);

/**
 * The metrics one HTTP request counts, from what its response and its noted security events already say (the
 * same facts as its "auth outcome" line), so every route is covered without a metric call in each use-case.
 */
export function requestMetrics(input: {
  readonly action: AuthAction | undefined;
  /** The auth outcome word (ok, failed, throttled, ...), on routes with an auth action. */
  readonly outcome: string | undefined;
  readonly status: number;
  readonly events: readonly NotedSecurityEvent[];
}): SecurityMetricName[] {
  const names: SecurityMetricName[] = [];
  if (input.action === 'login' && input.outcome === 'ok') names.push(securityMetricNames.loginSucceeded);
  if (input.action === 'login' && input.outcome !== undefined && FAILED_LOGIN_OUTCOMES.has(input.outcome))
    names.push(securityMetricNames.loginFailed);
  if (input.status === 429) names.push(securityMetricNames.throttled);
  for (const event of input.events) {
    if (event.type === 'refresh_token_reused') names.push(securityMetricNames.refreshTokenReused);
  }
  return names;
}
