import { randomUUID } from 'node:crypto';
import type { UserRecord } from '../domain/user.js';
import type { RequestOrigin } from '../stores/security-events-store.js';
import { recordEvent } from './accounts.js';
import type { Deps } from './deps.js';

export const RESET_MAILS_PER_HOUR = 3;
export const FORCED_RESET_MAIL_INTERVAL_SECONDS = 15 * 60;

/**
 * Queues the mail that lets an account reset its password (or, for SSO accounts, explains how they
 * sign in). The token itself is minted by the notifier when it sends, so no secret ever sits in SQS.
 * Limits: 3 per account per hour for every reason, and one per 15 minutes when a login triggered it.
 * Returns whether a mail was queued; callers answer the same either way.
 */
export async function queuePasswordResetMail(
  deps: Pick<Deps, 'throttles' | 'notifications' | 'clock' | 'events'>,
  user: Pick<UserRecord, 'userId' | 'email' | 'authMethod'>,
  origin: RequestOrigin,
  reason: 'requested' | 'forced',
): Promise<boolean> {
  const nowMs = deps.clock.now().getTime();
  if (
    reason === 'forced' &&
    !(await deps.throttles.tryTakeSliding('forced-reset-mail', user.userId, 1, FORCED_RESET_MAIL_INTERVAL_SECONDS, nowMs))
  ) {
    return false;
  }
  if (!(await deps.throttles.tryTakeSliding('reset-mail', user.userId, RESET_MAILS_PER_HOUR, 3600, nowMs))) {
    return false;
  }
  const type = user.authMethod === 'password' ? 'password_reset_link' : 'sso_sign_in_help';
  await deps.notifications.enqueue([
    {
      version: 1,
      type,
      deliveryKey: `${type}#${user.userId}#${randomUUID()}`,
      userId: user.userId,
      email: user.email,
      requestedAt: new Date(nowMs).toISOString(),
    },
  ]);
  await recordEvent(deps, user.userId, 'password_reset_requested', origin, { reason });
  return true;
}
