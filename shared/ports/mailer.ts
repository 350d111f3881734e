import type { RenderedMail } from '../notifications/templates.js';

export interface OutgoingMail extends RenderedMail {
  readonly to: string;
}

/** SES said no for good (bad address, suppressed, identity not verified): record it, never retry. */
export class MailRejectedError extends Error {
  override readonly name = 'MailRejectedError';
}

/** Port for sending mail: SES v2 on AWS and locally; a recording fake in unit tests. */
export interface Mailer {
  /** Throws MailRejectedError for permanent refusals; any other error is worth retrying later. */
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}
