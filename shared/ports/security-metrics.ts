/**
 * Operational counters of account-shield, one CloudWatch metric each in SECURITY_METRICS_NAMESPACE with the
 * dimension `service` = account-shield (docs/events.md "Metrics", the stack's dashboard). On AWS they are
 * CloudWatch embedded-metric-format log lines written by Powertools Metrics (shared/aws/powertools-security-metrics.ts):
 * no SDK call on the request path and no permission; locally they are off unless METRICS=emf. Counts only: never
 * a user id, an address or anything else per user (that belongs in the logs, not in metric dimensions).
 */
export const SECURITY_METRICS_NAMESPACE = 'AccountShield';
export const SECURITY_METRICS_SERVICE = 'account-shield';

export const securityMetricNames = {
  /** A password or SSO login answered with tokens. */
  loginSucceeded: 'LoginSucceeded',
  /** A login refused for a wrong password, unknown account or wrong/replayed second factor. */
  loginFailed: 'LoginFailed',
  /** Any request answered 429: the attempt limiter, sign-up / forgot-password / SSO / device-code rate limits. */
  throttled: 'Throttled',
  /** A rotated refresh token presented again: the session was ended (reuse detection). */
  refreshTokenReused: 'RefreshTokenReused',
  /** Incident campaign recipients the dispatcher put on the notifications queue. */
  campaignMailsQueued: 'CampaignMailsQueued',
  /** Incident campaign mails SES accepted. */
  campaignMailsSent: 'CampaignMailsSent',
  /** Incident campaign mails that failed for good (rejected, or outcome unknown and never resent). */
  campaignMailsFailed: 'CampaignMailsFailed',
  /** A Security Event Token delivered to (push) or acknowledged by (poll) a Shared Signals receiver. */
  signalDelivered: 'SignalDelivered',
  /** A Security Event Token delivery attempt that failed (receiver down, refused, timed out). */
  signalDeliveryFailed: 'SignalDeliveryFailed',
} as const;

export type SecurityMetricName = (typeof securityMetricNames)[keyof typeof securityMetricNames];

export interface SecurityMetrics {
  /** Adds `value` (default 1) to the metric in the current invocation's batch; zero or less is ignored. */
  count(name: SecurityMetricName, value?: number): void;
  /** Writes what was counted since the last flush (one EMF line); called once at the end of each invocation. */
  flush(): void;
}

/** Metrics off (local runs and tests by default). */
export const noSecurityMetrics: SecurityMetrics = { count() {}, flush() {} };
