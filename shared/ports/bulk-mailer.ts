import type { RenderedMail } from '../notifications/templates.js';

/**
 * One template sent to many recipients in one call (SES v2 SendBulkEmail, at most 50 destinations). The
 * template's `{{name}}` placeholders are filled from `data`; SES substitutes values as they are, so the
 * caller passes HTML-escaped variants for the HTML part.
 */
export interface BulkMail {
  readonly template: RenderedMail;
  readonly data: Readonly<Record<string, string>>;
  readonly to: readonly string[];
}

/**
 * What happened to one destination, in the order of `to`:
 * - sent: SES accepted it;
 * - failed: SES refused it for good (bad address, rejected, not verified...): never retried;
 * - retry: SES did not take it for a reason that goes away (throttled, sending paused): send again later;
 * - unknown: the call may or may not have reached SES (timeout, connection reset): never resent, counted failed.
 */
export type BulkMailResult =
  | { readonly status: 'sent'; readonly messageId: string }
  | { readonly status: 'failed' | 'retry' | 'unknown'; readonly reason: string };

/** Port for bulk campaign mail: SES v2 on AWS and locally; a recording fake in unit tests. */
export interface BulkMailer {
  /** Never throws for SES's own refusals: whole-call errors come back as one result per destination. */
  sendBulk(mail: BulkMail): Promise<BulkMailResult[]>;
}
