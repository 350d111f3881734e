/**
 * Rules of the OpenID Shared Signals Framework 1.0 transmitter (no I/O): which CAEP / RISC event a recorded
 * security event becomes, the subjects it names (RFC 9493) and how a stream's delivered events are derived.
 */

export const PUSH_METHOD = 'urn:ietf:rfc:8935';
export const POLL_METHOD = 'urn:ietf:rfc:8936';
export type DeliveryMethod = typeof PUSH_METHOD | typeof POLL_METHOD;

export const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
export const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
export const CREDENTIAL_CHANGE_REQUIRED =
  'https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required';
export const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
export const STREAM_UPDATED = 'https://schemas.openid.net/secevent/ssf/event-type/stream-updated';

/** What this transmitter can send; a stream delivers the part of it the receiver requested. */
export const EVENTS_SUPPORTED: readonly string[] = [
  SESSION_REVOKED,
  CREDENTIAL_CHANGE,
  CREDENTIAL_CHANGE_REQUIRED,
];

export type StreamStatus = 'enabled' | 'paused' | 'disabled';

/**
 * The pk of tenant-wide security events (a `scope: all` incident): `events#<TENANT_EVENTS_ID>`. Not a user id
 * (ours are UUIDs), so no account's trail ever shows it, and the fan-out knows it names every account at once.
 */
export const TENANT_EVENTS_ID = '_tenant';

/** SSF 1.0 section 8.1.1: events_delivered is the intersection of what we support and what was requested. */
export function eventsDelivered(requested: readonly string[] | undefined): string[] {
  // Omitted means "whatever you have" (the spec lets the transmitter choose); an explicit list narrows it.
  if (requested === undefined) return [...EVENTS_SUPPORTED];
  return EVENTS_SUPPORTED.filter((uri) => requested.includes(uri));
}

/** The facts of a recorded security event the mapping needs (the records-table stream's NEW_IMAGE). */
export interface RecordedSecurityEvent {
  readonly userId: string;
  readonly type: string;
  readonly at: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A CAEP/RISC event about one account (or, with `tenantWide`, about every account of this issuer). */
export interface SignalEvent {
  readonly eventType: string;
  /** Members of the event object besides `subject` (CAEP event_timestamp, reason_admin, ...). */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly tenantWide: boolean;
}

const reason = (en: string) => ({ en });

/**
 * CONTRACT.md "Security events out": session-revoked for revoke-all, session end, refresh-token reuse and incident
 * revocation; credential-change for password reset/change and 2FA on/off; account-credential-change-required for
 * forced resets. Every event carries a non-empty `reason_admin` (CAEP interoperability profile).
 */
export function signalsFor(event: RecordedSecurityEvent): SignalEvent[] {
  const eventTimestamp = Math.floor(Date.parse(event.at) / 1000);
  const tenantWide = event.userId === TENANT_EVENTS_ID;
  const sessionRevoked = (why: string, initiatingEntity: string): SignalEvent => ({
    eventType: SESSION_REVOKED,
    payload: {
      event_timestamp: eventTimestamp,
      initiating_entity: initiatingEntity,
      reason_admin: reason(why),
    },
    tenantWide,
  });
  const credentialChange = (credentialType: string, changeType: string, why: string): SignalEvent => ({
    eventType: CREDENTIAL_CHANGE,
    payload: {
      event_timestamp: eventTimestamp,
      credential_type: credentialType,
      change_type: changeType,
      initiating_entity: 'user',
      reason_admin: reason(why),
    },
    tenantWide,
  });
  const changeRequired = (why: string): SignalEvent => ({
    eventType: CREDENTIAL_CHANGE_REQUIRED,
    payload: { event_timestamp: eventTimestamp, reason_admin: reason(why) },
    tenantWide,
  });
  switch (event.type) {
    case 'signed_out_all_devices':
      return [sessionRevoked('The user signed out of all devices.', 'user')];
    case 'logout':
      return [sessionRevoked('The user signed out of this session.', 'user')];
    case 'session_revoked':
      return [sessionRevoked('The user ended one of their sessions.', 'user')];
    case 'refresh_token_reused':
      return [sessionRevoked('A rotated refresh token was presented again (possible theft).', 'policy')];
    case 'account_secured':
      return [
        sessionRevoked('The user reported that someone else used their account.', 'user'),
        ...(event.detail['passwordResetRequired'] === true
          ? [changeRequired('The user reported that someone else used their account.')]
          : []),
      ];
    case 'password_reset_completed':
      return [
        credentialChange('password', 'update', 'The user reset their password.'),
        ...(event.detail['signedOutAllDevices'] === true
          ? [sessionRevoked('The password reset signed out every device.', 'user')]
          : []),
      ];
    case 'password_changed':
      return [
        credentialChange('password', 'update', 'The user changed their password.'),
        ...(event.detail['signedOutOtherDevices'] === true
          ? [sessionRevoked('The password change signed out every other device.', 'user')]
          : []),
      ];
    case 'mfa_enabled':
      return [credentialChange('app', 'create', 'The user turned on two-factor authentication.')];
    case 'mfa_disabled':
      return [credentialChange('app', 'delete', 'The user turned off two-factor authentication.')];
    case 'password_reset_forced':
      return [
        changeRequired(
          event.detail['source'] === 'import'
            ? 'The account was imported and must set a new password.'
            : 'An administrator requires a password reset.',
        ),
        ...(event.detail['revokedSessions'] === true
          ? [sessionRevoked('An administrator signed the account out of every device.', 'admin')]
          : []),
      ];
    case 'incident_action': {
      const signals: SignalEvent[] = [];
      const incident =
        typeof event.detail['incidentId'] === 'string' ? ` (${event.detail['incidentId']})` : '';
      if (event.detail['forcedPasswordReset'] === true)
        signals.push(changeRequired(`A security incident requires a password reset${incident}.`));
      if (event.detail['revokedSessions'] === true)
        signals.push(sessionRevoked(`A security incident revoked every session${incident}.`, 'admin'));
      return signals;
    }
    default:
      return [];
  }
}

/** RFC 9493 subject identifiers a stream may ask for. */
export type SubjectFormat = 'email' | 'iss_sub';

/**
 * The event's subject (SSF 1.0 section 3: top-level `sub_id`, and `subject` inside CAEP/RISC events). A
 * tenant-wide event names this issuer's tenant as a complex subject (SSF 1.0 section 3.1).
 */
export function subjectFor(
  format: SubjectFormat,
  issuer: string,
  account: { readonly userId: string; readonly email: string | undefined } | 'tenant',
): Record<string, unknown> {
  if (account === 'tenant')
    return { format: 'complex', tenant: { format: 'iss_sub', iss: issuer, sub: TENANT_EVENTS_ID } };
  if (format === 'email' && account.email !== undefined) return { format: 'email', email: account.email };
  return { format: 'iss_sub', iss: issuer, sub: account.userId };
}
