import { type BulkEmailEntryResult, type SESv2Client, SendBulkEmailCommand } from '@aws-sdk/client-sesv2';
import type { BulkMail, BulkMailer, BulkMailResult } from '../ports/bulk-mailer.js';

/** SES refused these destinations for good: resending the same mail cannot help. */
const PERMANENT_ENTRY_STATUSES = new Set([
  'MESSAGE_REJECTED',
  'MAIL_FROM_DOMAIN_NOT_VERIFIED',
  'CONFIGURATION_SET_DOES_NOT_EXIST',
  'CONFIGURATION_SET_NOT_FOUND',
  'TEMPLATE_DOES_NOT_EXIST',
  'TEMPLATE_NOT_FOUND',
  'ACCOUNT_SUSPENDED',
  'INVALID_SENDING_POOL_NAME',
  'INVALID_PARAMETER',
  'FAILED',
]);

/** SES did not take these destinations for a reason that goes away: quota, throttling, paused sending. */
const RETRY_ENTRY_STATUSES = new Set([
  'ACCOUNT_THROTTLED',
  'ACCOUNT_DAILY_QUOTA_EXCEEDED',
  'ACCOUNT_SENDING_PAUSED',
  'CONFIGURATION_SET_SENDING_PAUSED',
  'TRANSIENT_FAILURE',
]);

const PERMANENT_ERRORS = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'BadRequestException',
  'NotFoundException',
  'AccountSuspendedException',
]);
const THROTTLE_ERRORS = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'SendingPausedException',
  'ThrottlingException',
  'Throttling',
]);
/** The request never left: nothing can have been sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * Whole-call failures, by what they say about the mails. A throttle, an explicit 5xx or a refused connection
 * means SES did not accept anything: retry later. A timeout or a reset connection may come after SES accepted
 * the mails, and resending could mail someone twice: report "unknown" (counted failed, never resent).
 */
export function classifySendError(error: unknown): Exclude<BulkMailResult['status'], 'sent'> {
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string };
  };
  const name = candidate.name ?? '';
  if (PERMANENT_ERRORS.has(name)) return 'failed';
  if (THROTTLE_ERRORS.has(name)) return 'retry';
  const code = candidate.code ?? candidate.cause?.code;
  if (code !== undefined && NOT_SENT_CODES.has(code)) return 'retry';
  const status = candidate.$metadata?.httpStatusCode ?? 0;
  if (status === 429 || status >= 500) return 'retry';
  return 'unknown';
}

export function classifyEntry(entry: BulkEmailEntryResult | undefined): BulkMailResult {
  const status = entry?.Status ?? 'MISSING';
  if (status === 'SUCCESS') return { status: 'sent', messageId: entry?.MessageId ?? '' };
  if (RETRY_ENTRY_STATUSES.has(status)) return { status: 'retry', reason: status };
  if (PERMANENT_ENTRY_STATUSES.has(status)) return { status: 'failed', reason: status };
  // A status this code does not know (or no result at all for this destination): SES may have sent it.
  return { status: 'unknown', reason: status };
}

/** One SendBulkEmail of the mail to every destination, with its template inline (no SES template to manage). */
export function sendBulkEmailCommand(
  mail: BulkMail,
  options: { from: string; configurationSet?: string },
): SendBulkEmailCommand {
  return new SendBulkEmailCommand({
    FromEmailAddress: options.from,
    ConfigurationSetName: options.configurationSet,
    DefaultContent: {
      Template: {
        TemplateContent: {
          Subject: mail.template.subject,
          Text: mail.template.text,
          Html: mail.template.html,
        },
        TemplateData: JSON.stringify(mail.data),
      },
    },
    BulkEmailEntries: mail.to.map((address) => ({ Destination: { ToAddresses: [address] } })),
  });
}

/**
 * SES v2 SendBulkEmail with the template given inline (DefaultContent.Template.TemplateContent): SES accepts
 * it for bulk sends ("simple substitutions" only), so no named template has to be created, versioned and kept
 * in step with the code. Give this adapter an SES client with maxAttempts 1: an SDK retry after a timeout is
 * exactly the second mail the claims exist to prevent.
 */
export function createSesBulkMailer(
  ses: SESv2Client,
  options: { from: string; configurationSet?: string },
): BulkMailer {
  return {
    async sendBulk(mail: BulkMail) {
      if (mail.to.length === 0) return [];
      let results: BulkEmailEntryResult[];
      try {
        const output = await ses.send(sendBulkEmailCommand(mail, options));
        results = output.BulkEmailEntryResults ?? [];
      } catch (error) {
        const status = classifySendError(error);
        const reason = (error as { name?: string }).name ?? 'Error';
        return mail.to.map(() => ({ status, reason }));
      }
      // Results come back in the order of the entries.
      return mail.to.map((_, index) => classifyEntry(results[index]));
    },
  };
}
