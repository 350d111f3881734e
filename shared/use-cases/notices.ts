import { randomUUID } from 'node:crypto';
import type { RequestOrigin } from '../domain/security-event.js';
import type { UserRecord } from '../domain/user.js';
import type { SecurityNoticeKind } from '../notifications/messages.js';
import type { Deps } from './deps.js';

/** Queues a "this just happened on your account" mail. The key is minted once, here, per event. */
export async function queueSecurityNotice(
  deps: Pick<Deps, 'notifications' | 'clock'>,
  user: Pick<UserRecord, 'userId' | 'email'>,
  notice: SecurityNoticeKind,
  origin: RequestOrigin,
): Promise<void> {
  await deps.notifications.enqueue([
    {
      version: 1,
      type: 'security_notice',
      notice,
      deliveryKey: `notice#${user.userId}#${notice}#${randomUUID()}`,
      userId: user.userId,
      email: user.email,
      requestedAt: deps.clock.now().toISOString(),
      ip: origin.ip,
      userAgent: origin.userAgent?.slice(0, 512) ?? null,
    },
  ]);
}
