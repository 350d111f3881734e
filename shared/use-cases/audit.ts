import type { RequestOrigin, SecurityEvent } from '../domain/security-event.js';
import { noteSecurityEvent } from '../logging.js';
import type { Deps } from './deps.js';

/** A security event of this request, as `recordEvent` writes it. */
export function securityEvent(
  deps: Pick<Deps, 'clock'>,
  type: SecurityEvent['type'],
  origin: RequestOrigin,
  detail: SecurityEvent['detail'] = {},
): SecurityEvent {
  return { type, at: deps.clock.now().toISOString(), ip: origin.ip, userAgent: origin.userAgent, detail };
}

/** The request's "auth outcome" log line names the event (e.g. refresh-token reuse), with the user it concerns. */
export function noteEvent(userId: string, event: SecurityEvent): void {
  noteSecurityEvent({
    type: event.type,
    userId,
    ...(typeof event.detail['sessionId'] === 'string' ? { sessionId: event.detail['sessionId'] } : {}),
  });
}

/** Security events are an audit aid: failing to write one must not fail the user's action. */
export async function recordEvent(
  deps: Pick<Deps, 'events' | 'clock'>,
  userId: string,
  type: SecurityEvent['type'],
  origin: RequestOrigin,
  detail: SecurityEvent['detail'] = {},
): Promise<void> {
  const event = securityEvent(deps, type, origin, detail);
  noteEvent(userId, event);
  await deps.events.record(userId, event).catch(() => undefined);
}
