import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { type Mailer, MailOutcomeUnknownError, MailRejectedError } from '../ports/mailer.js';
import { classifySendError } from './ses-bulk-mailer.js';

/** SES v2 errors that will not go away by retrying the same mail. */
const PERMANENT = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'BadRequestException',
  'NotFoundException',
  'AccountSuspendedException',
]);

export function isPermanentSesError(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && PERMANENT.has((error as { name?: string }).name ?? '')
  );
}

/**
 * Give this adapter an SES client with maxAttempts 1 (shared/app.ts): an SDK retry after a timeout is exactly the
 * second mail the delivery claims exist to prevent.
 */
export function createSesMailer(
  ses: SESv2Client,
  options: { from: string; configurationSet?: string },
): Mailer {
  return {
    async send(mail) {
      try {
        const result = await ses.send(
          new SendEmailCommand({
            FromEmailAddress: options.from,
            Destination: { ToAddresses: [mail.to] },
            ConfigurationSetName: options.configurationSet,
            Content: {
              Simple: {
                Subject: { Data: mail.subject, Charset: 'UTF-8' },
                Body: {
                  Text: { Data: mail.text, Charset: 'UTF-8' },
                  Html: { Data: mail.html, Charset: 'UTF-8' },
                },
              },
            },
          }),
        );
        return { messageId: result.MessageId ?? '' };
      } catch (error) {
        if (isPermanentSesError(error)) {
          throw new MailRejectedError(`SES rejected the mail: ${(error as Error).name}`, { cause: error });
        }
        // The same rules as the bulk path: only an answer that says "not taken" may be retried.
        if (classifySendError(error) === 'unknown') {
          throw new MailOutcomeUnknownError(`SES may have accepted the mail: ${(error as Error).name}`, {
            cause: error,
          });
        }
        throw error;
      }
    },
  };
}
