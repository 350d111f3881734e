import { randomSecret, sha256Hex } from '../crypto/secrets.js';
import { delayUntilNextSecond, msUntilSendSecond } from '../domain/send-slots.js';
import type {
  NotificationMessage,
  PasswordResetRequestMessage,
  SecurityNoticeMessage,
} from '../notifications/messages.js';
import {
  type AppLinks,
  passwordResetMail,
  type RenderedMail,
  securityNoticeMail,
  ssoSignInHelpMail,
} from '../notifications/templates.js';
import { MailOutcomeUnknownError, MailRejectedError } from '../ports/mailer.js';
import { recordEvent } from './audit.js';
import { deliverIncidentBatch, type IncidentBatchOutcome } from './deliver-incident-batch.js';
import type { Deps } from './deps.js';

export const RESET_MAILS_PER_HOUR = 3;
export const FORCED_RESET_MAIL_INTERVAL_SECONDS = 15 * 60;

/** `unknown`: SES may have taken the mail (timeout after the request left); settled, never resent. */
export type DeliveryOutcome = 'sent' | 'duplicate' | 'skipped' | 'rejected' | 'unknown';

type NotifierDeps = Pick<
  Deps,
  | 'config'
  | 'clock'
  | 'logger'
  | 'users'
  | 'throttles'
  | 'resetTokens'
  | 'deliveries'
  | 'mailer'
  | 'sendRate'
  | 'events'
>;

const appLinks = (deps: Pick<Deps, 'config'>): AppLinks => ({ appUrl: deps.config.publicAppUrl });

/** Attempts to record `sent` after SES took the mail; a brief DynamoDB error must not lose the record. */
const SETTLE_SENT_ATTEMPTS = 3;

/**
 * Claim, compose, send, settle: a key that was ever claimed is never sent again unless a failure that proves
 * SES did not take the mail (throttling, 5xx, refused connection) explicitly released it. A timeout after the
 * request left is settled `unknown` and never resent, as on the bulk path; a crash mid-send leaves the claim
 * "sending", never re-sent (docs/adr/0003-exactly-once-mail.md). Once SES has taken the mail, nothing can
 * release the claim any more: the `sent` settle is outside the release path.
 */
async function sendOnce(
  deps: NotifierDeps,
  deliveryKey: string,
  to: string,
  compose: () => Promise<RenderedMail | { skip: string }>,
  options: { sendSlotWithClaim: boolean },
): Promise<DeliveryOutcome> {
  if (options.sendSlotWithClaim) {
    // Mails that are always sent take their send-rate slot in the claim's own transaction.
    for (;;) {
      const now = deps.clock.now();
      const claim = await deps.deliveries.claimWithSendSlot(deliveryKey, now, deps.config.sesMaxSendRate);
      if ('slotFull' in claim) {
        await sleep(delayUntilNextSecond(now.getTime()));
        continue;
      }
      if (!claim.claimed) return 'duplicate';
      await sleep(msUntilSendSecond(claim.second, deps.clock.now().getTime()));
      break;
    }
  } else {
    const claim = await deps.deliveries.claim(deliveryKey, deps.clock.now());
    if (!claim.claimed) return 'duplicate';
  }
  let messageId: string;
  try {
    const mail = await compose();
    if ('skip' in mail) {
      await deps.deliveries.settle(deliveryKey, 'skipped', { reason: mail.skip }, deps.clock.now());
      return 'skipped';
    }
    if (!options.sendSlotWithClaim) await deps.sendRate.acquire(1);
    ({ messageId } = await deps.mailer.send({ ...mail, to }));
  } catch (error) {
    if (error instanceof MailRejectedError) {
      await deps.deliveries.settle(deliveryKey, 'rejected', { reason: error.message }, deps.clock.now());
      return 'rejected';
    }
    if (error instanceof MailOutcomeUnknownError) {
      deps.logger.warn('mail outcome unknown: not resent', { deliveryKey, reason: error.message });
      await deps.deliveries.settle(deliveryKey, 'unknown', { reason: error.message }, deps.clock.now());
      return 'unknown';
    }
    await deps.deliveries.settle(
      deliveryKey,
      'retryable',
      { reason: (error as Error).name },
      deps.clock.now(),
    );
    throw error;
  }
  await settleSent(deps, deliveryKey, messageId);
  return 'sent';
}

/**
 * SES has the mail. A failed write here leaves the claim "sending" (never resent): the mail is out, only its
 * record is missing, so retry briefly and then say so in the log instead of failing the queue message.
 */
async function settleSent(deps: NotifierDeps, deliveryKey: string, messageId: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await deps.deliveries.settle(deliveryKey, 'sent', { messageId }, deps.clock.now());
      return;
    } catch (error) {
      if (attempt >= SETTLE_SENT_ATTEMPTS) {
        deps.logger.error('mail sent but not recorded: the claim stays "sending" and is never resent', {
          deliveryKey,
          messageId,
          error: (error as Error).name,
        });
        return;
      }
      await sleep(50 * 2 ** attempt);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function deliverPasswordResetRequest(
  deps: NotifierDeps,
  message: PasswordResetRequestMessage,
): Promise<DeliveryOutcome> {
  return sendOnce(
    deps,
    message.deliveryKey,
    message.email,
    async () => {
      const user = await deps.users.findByIdentifier({ kind: 'email', value: message.email });
      if (!user) return { skip: 'unknown_email' };
      const nowMs = deps.clock.now().getTime();
      // Check the hourly limit before spending the forced-mail slot, so a blocked mail uses up neither.
      if (
        !(await deps.throttles.hasRoomSliding('reset-mail', user.userId, RESET_MAILS_PER_HOUR, 3600, nowMs))
      ) {
        return { skip: 'reset_mail_hourly_limit' };
      }
      if (
        message.reason === 'forced' &&
        !(await deps.throttles.tryTakeSliding(
          'forced-reset-mail',
          user.userId,
          1,
          FORCED_RESET_MAIL_INTERVAL_SECONDS,
          nowMs,
        ))
      ) {
        return { skip: 'forced_reset_mail_interval' };
      }
      if (
        !(await deps.throttles.tryTakeSliding('reset-mail', user.userId, RESET_MAILS_PER_HOUR, 3600, nowMs))
      ) {
        return { skip: 'reset_mail_hourly_limit' };
      }
      const origin = { ip: message.ip, userAgent: message.userAgent };
      await recordEvent(deps, user.userId, 'password_reset_requested', origin, { reason: message.reason });
      if (user.authMethod !== 'password')
        return ssoSignInHelpMail({ requestedAt: message.requestedAt }, appLinks(deps));
      const token = randomSecret(32);
      await deps.resetTokens.create(sha256Hex(token), user.userId, deps.clock.now());
      return passwordResetMail(
        { token, requestedAt: message.requestedAt, reason: message.reason },
        appLinks(deps),
      );
    },
    { sendSlotWithClaim: false },
  );
}

export async function deliverSecurityNotice(
  deps: NotifierDeps,
  message: SecurityNoticeMessage,
): Promise<DeliveryOutcome> {
  return sendOnce(
    deps,
    message.deliveryKey,
    message.email,
    async () =>
      securityNoticeMail(
        { notice: message.notice, at: message.requestedAt, ip: message.ip, userAgent: message.userAgent },
        appLinks(deps),
      ),
    { sendSlotWithClaim: true },
  );
}

export async function deliverNotification(
  deps: Deps,
  message: NotificationMessage,
): Promise<DeliveryOutcome | IncidentBatchOutcome> {
  switch (message.type) {
    case 'password_reset_request':
      return deliverPasswordResetRequest(deps, message);
    case 'security_notice':
      return deliverSecurityNotice(deps, message);
    case 'incident_batch':
      return deliverIncidentBatch(deps, message);
  }
}
