import { randomUUID } from 'node:crypto';
import type { RequestOrigin } from '../domain/security-event.js';
import type { Deps } from './deps.js';

/**
 * Queues "help this address reset its password". The notifier decides what (if anything) is sent:
 * a reset link for password accounts, SSO sign-in help for SSO accounts, nothing for unknown
 * addresses, and nothing beyond the mail limits. The API's work is identical in every case.
 */
export async function queuePasswordResetMail(
  deps: Pick<Deps, 'notifications' | 'clock'>,
  email: string,
  origin: RequestOrigin,
  reason: 'requested' | 'forced',
): Promise<void> {
  await deps.notifications.enqueue([
    {
      version: 1,
      type: 'password_reset_request',
      deliveryKey: `password_reset_request#${randomUUID()}`,
      email,
      reason,
      requestedAt: deps.clock.now().toISOString(),
      ip: origin.ip,
      userAgent: origin.userAgent?.slice(0, 512) ?? null,
    },
  ]);
}
