import type { RenderedMail } from '../notifications/templates.js';

export interface OutgoingMail extends RenderedMail {
  readonly to: string;
}

/** SES said no for good (bad address, suppressed, identity not verified): record it, never retry. */
export class MailRejectedError extends Error {
  override readonly name = 'MailRejectedError';
}

/**
 * The call may or may not have reached SES (timeout, connection reset after the request was written): SES may
 * have accepted the mail. Never resent: a second notice is worse than a missing one (ADR 0003).
 */
export class MailOutcomeUnknownError extends Error {
  override readonly name = 'MailOutcomeUnknownError';
}

/** Port for sending mail: SES v2 on AWS and locally; a recording fake in unit tests. */
export interface Mailer {
  /**
   * Throws MailRejectedError for permanent refusals and MailOutcomeUnknownError when SES may have taken the
   * mail; any other error means SES did not take it, and is worth retrying later.
   */
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}
