/** What the account owner sees in their security history, and where a request came from. */
export type SecurityEventType =
  | 'account_created'
  | 'login_succeeded'
  | 'login_failed'
  | 'token_refreshed'
  | 'refresh_token_reused'
  | 'logout'
  | 'session_revoked'
  | 'signed_out_all_devices'
  | 'password_reset_requested'
  | 'password_reset_completed'
  | 'password_changed'
  | 'password_reset_forced'
  | 'breached_password_detected'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'recovery_code_used'
  | 'second_factor_failed'
  | 'incident_action'
  | 'sso_linked'
  | 'account_secured'
  | 'device_approved'
  | 'device_denied';

export interface SecurityEvent {
  readonly type: SecurityEventType;
  readonly at: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** Free-form facts for the account owner; never a secret, hash or token. */
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
}

export interface RequestOrigin {
  readonly ip: string | null;
  readonly userAgent: string | null;
}
