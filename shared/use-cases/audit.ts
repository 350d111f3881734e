import type { RequestOrigin, SecurityEvent } from '../domain/security-event.js';
import { noteSecurityEvent } from '../logging.js';
import type { Deps } from './deps.js';

/** Security events are an audit aid: failing to write one must not fail the user's action. */
export async function recordEvent(
  deps: Pick<Deps, 'events' | 'clock'>,
  userId: string,
  type: SecurityEvent['type'],
  origin: RequestOrigin,
  detail: SecurityEvent['detail'] = {},
): Promise<void> {
  // The request's "auth outcome" log line names it (e.g. refresh-token reuse), with the user it concerns.
  noteSecurityEvent({
    type,
    userId,
    ...(typeof detail['sessionId'] === 'string' ? { sessionId: detail['sessionId'] } : {}),
  });
  await deps.events
    .record(userId, {
      type,
      at: deps.clock.now().toISOString(),
      ip: origin.ip,
      userAgent: origin.userAgent,
      detail,
    })
    .catch(() => undefined);
}
