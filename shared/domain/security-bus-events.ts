import type { SecurityEventType } from './security-event.js';

/**
 * What account-shield publishes on its EventBridge bus for internal consumers (docs/events.md): one event per
 * security event written to the records table, `source` = BUS_EVENT_SOURCE, `detail-type` = the event type.
 *
 * The detail is built from an allowlist per type rather than copied from the stored item: a key added to a
 * security event later stays private until it is added here (and so to the documented schema), so nothing new
 * can leave the service by accident. The user agent is never published: it is free text chosen by the client,
 * a fingerprinting aid, and no consumer decision depends on it; the source IP is (risk and fraud systems
 * correlate on it), and it is omitted when the action had none (operator and incident actions).
 */
export const BUS_EVENT_SOURCE = 'account-shield';

/** The JSON type of a published detail field; `?` marks fields that may be null. */
export type BusFieldType = 'string' | 'string?' | 'boolean' | 'integer';

export const busEventDetailFields = {
  account_created: { authMethod: 'string' },
  login_succeeded: {
    sessionId: 'string',
    deviceName: 'string?',
    method: 'string',
    provider: 'string',
    clientId: 'string',
    grant: 'string',
  },
  login_failed: { reason: 'string', provider: 'string' },
  token_refreshed: { sessionId: 'string' },
  refresh_token_reused: { sessionId: 'string' },
  logout: { sessionId: 'string' },
  session_revoked: { sessionId: 'string', reason: 'string', clientId: 'string' },
  signed_out_all_devices: {},
  password_reset_requested: { reason: 'string' },
  password_reset_completed: { signedOutAllDevices: 'boolean' },
  password_changed: { signedOutOtherDevices: 'boolean' },
  password_reset_forced: { revokedSessions: 'boolean' },
  breached_password_detected: { source: 'string' },
  mfa_enabled: {},
  mfa_disabled: {},
  recovery_code_used: { remaining: 'integer' },
  second_factor_failed: { passwordProved: 'boolean' },
  incident_action: { incidentId: 'string', forcedPasswordReset: 'boolean', revokedSessions: 'boolean' },
  sso_linked: { provider: 'string' },
  account_secured: { signedOutAllDevices: 'boolean', passwordResetRequired: 'boolean' },
  device_approved: { clientId: 'string', clientName: 'string' },
  device_denied: { clientId: 'string', clientName: 'string' },
} as const satisfies Record<SecurityEventType, Readonly<Record<string, BusFieldType>>>;

export type BusEventType = keyof typeof busEventDetailFields;
export const busEventTypes = Object.keys(busEventDetailFields) as BusEventType[];

type DetailValue = string | number | boolean | null;

/** The `detail` of every published event (`detail-type` repeats `type`). */
export interface SecurityBusEventDetail {
  /** Unique per user (the stored event's sort key); consumers de-duplicate on (userId, eventId). */
  readonly eventId: string;
  readonly userId: string;
  readonly type: BusEventType;
  /** ISO 8601 time of the action. */
  readonly at: string;
  /** Source address of the request; absent when the action had none. */
  readonly ip?: string;
  /** The allowlisted facts of this type (busEventDetailFields); absent keys were not part of this action. */
  readonly detail: Readonly<Record<string, DetailValue>>;
}

export interface SecurityBusEvent {
  readonly detailType: BusEventType;
  readonly time: Date;
  readonly detail: SecurityBusEventDetail;
}

export class MalformedSecurityEventItemError extends Error {
  override readonly name = 'MalformedSecurityEventItemError';
}

const EVENT_KEY_PREFIX = 'events#';
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether a records-table item is a security event (pk `events#<userId>`, see SecurityEventsStore). */
export function isSecurityEventItem(item: Readonly<Record<string, unknown>>): boolean {
  const pk = item['pk'];
  return typeof pk === 'string' && pk.startsWith(EVENT_KEY_PREFIX) && pk.length > EVENT_KEY_PREFIX.length;
}

function fieldMatches(type: BusFieldType, value: unknown): value is DetailValue {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'string?':
      return typeof value === 'string' || value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return Number.isInteger(value);
  }
}

/**
 * The bus event of a stored security event item (as the stream's NEW_IMAGE holds it, unmarshalled). Throws
 * MalformedSecurityEventItemError when the item is not one SecurityEventsStore writes: the publisher then
 * reports it failed, so it ends in the dead-letter queue instead of being dropped silently. The message names
 * what is wrong, never a value.
 */
export function toSecurityBusEvent(item: Readonly<Record<string, unknown>>): SecurityBusEvent {
  if (!isSecurityEventItem(item)) throw new MalformedSecurityEventItemError('not a security event item');
  const userId = (item['pk'] as string).slice(EVENT_KEY_PREFIX.length);
  const { sk, type, at, ip, detail } = item;
  if (typeof sk !== 'string' || sk.length === 0) throw new MalformedSecurityEventItemError('sk missing');
  if (typeof type !== 'string' || !Object.hasOwn(busEventDetailFields, type))
    throw new MalformedSecurityEventItemError('unknown event type');
  const time = typeof at === 'string' ? new Date(at) : undefined;
  if (time === undefined || Number.isNaN(time.getTime()))
    throw new MalformedSecurityEventItemError('at is not a time');
  const eventType = type as BusEventType;
  const fields: Readonly<Record<string, BusFieldType>> = busEventDetailFields[eventType];
  const stored = isRecord(detail) ? detail : {};
  const published: Record<string, DetailValue> = {};
  for (const [name, fieldType] of Object.entries(fields)) {
    const value = stored[name];
    // A value of another type than documented is left out rather than breaking consumers' schemas.
    if (value !== undefined && fieldMatches(fieldType, value)) published[name] = value;
  }
  return {
    detailType: eventType,
    time,
    detail: {
      eventId: sk,
      userId,
      type: eventType,
      at: at as string,
      ...(typeof ip === 'string' && ip.length > 0 ? { ip } : {}),
      detail: published,
    },
  };
}

/** JSON Schema (draft 4, as the EventBridge schema registry takes it) of one type's full event envelope. */
export function busEventJsonSchema(type: BusEventType): Record<string, unknown> {
  const fields: Readonly<Record<string, BusFieldType>> = busEventDetailFields[type];
  const jsonType = (fieldType: BusFieldType) =>
    fieldType === 'string?' ? { type: ['string', 'null'] } : { type: fieldType };
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: `${BUS_EVENT_SOURCE} ${type}`,
    type: 'object',
    required: ['source', 'detail-type', 'time', 'detail'],
    properties: {
      source: { type: 'string', enum: [BUS_EVENT_SOURCE] },
      'detail-type': { type: 'string', enum: [type] },
      time: { type: 'string', format: 'date-time' },
      detail: {
        type: 'object',
        required: ['eventId', 'userId', 'type', 'at', 'detail'],
        additionalProperties: false,
        properties: {
          eventId: { type: 'string' },
          userId: { type: 'string' },
          type: { type: 'string', enum: [type] },
          at: { type: 'string', format: 'date-time' },
          ip: { type: 'string' },
          detail: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(
              Object.entries(fields).map(([name, fieldType]) => [name, jsonType(fieldType)]),
            ),
          },
        },
      },
    },
  };
}
