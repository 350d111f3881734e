import { SESv2Client } from '@aws-sdk/client-sesv2';
import { createSesBulkMailer } from '../aws/ses-bulk-mailer.js';
import { createSesMailer } from '../aws/ses-mailer.js';
import type { Config } from '../config.js';
import type { BulkMailer } from '../ports/bulk-mailer.js';
import type { Mailer } from '../ports/mailer.js';

/**
 * The SES client for every mail, bulk and single: one attempt per call. The shared client retries, and an SDK
 * retry after a timeout can mail 50 people (or one) a second time; the notifier handles retries itself, with
 * claims, and only when SES said it did not take the mail.
 */
export function createBulkSesClient(config: Config): SESv2Client {
  return new SESv2Client({
    region: config.region,
    endpoint: config.endpoints.ses,
    maxAttempts: 1,
    // Without throwOnRequestTimeout the SDK only warns and waits on: a hung call would hold the notifier.
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 1_000, throwOnRequestTimeout: true },
  });
}

/** The notifier's mailers (security notices, reset links, incident campaigns). */
export function sesMail(
  config: Config,
  ses: SESv2Client = createBulkSesClient(config),
): { mailer: Mailer; bulkMailer: BulkMailer } {
  const sender = { from: config.mailFrom, configurationSet: config.sesConfigurationSet };
  return { mailer: createSesMailer(ses, sender), bulkMailer: createSesBulkMailer(ses, sender) };
}
