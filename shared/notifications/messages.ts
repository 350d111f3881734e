import { z } from 'zod';

/**
 * Every email starts as one of these typed, versioned messages on the notifications queue. The
 * `deliveryKey` is the business key the notifier deduplicates on (never the SQS message id), so a
 * redelivered or re-queued message cannot send a second mail (docs/adr/0003-exactly-once-mail.md).
 */
const base = {
  version: z.literal(1),
  deliveryKey: z.string().min(1).max(512),
  userId: z.string().min(1).max(64),
  email: z.string().email().max(320),
  requestedAt: z.string().datetime(),
};

export const securityNoticeKinds = [
  'signed_out_all_devices',
  'password_changed',
  'mfa_enabled',
  'mfa_disabled',
  'password_reset_forced',
  'second_factor_failed',
] as const;
export type SecurityNoticeKind = (typeof securityNoticeKinds)[number];

/**
 * "Send this address what it needs to get back in": the notifier resolves the account, applies the
 * mail limits and mints the reset token at send time, so the API does the same work for known and
 * unknown emails (no timing oracle) and no reset secret ever sits in the queue.
 */
const passwordResetRequest = z
  .object({
    version: z.literal(1),
    type: z.literal('password_reset_request'),
    deliveryKey: base.deliveryKey,
    email: base.email,
    reason: z.enum(['requested', 'forced']),
    requestedAt: base.requestedAt,
    ip: z.string().max(64).nullable(),
    userAgent: z.string().max(512).nullable(),
  })
  .strict();
const securityNotice = z
  .object({
    ...base,
    type: z.literal('security_notice'),
    notice: z.enum(securityNoticeKinds),
    ip: z.string().max(64).nullable(),
    userAgent: z.string().max(512).nullable(),
  })
  .strict();

export const incidentRecipientSchema = z
  .object({
    userId: z.string().min(1).max(64),
    email: z.string().email().max(320),
    audience: z.enum(['password', 'sso']),
  })
  .strict();

const incidentBatch = z
  .object({
    version: z.literal(1),
    type: z.literal('incident_batch'),
    incidentId: z.string().min(1).max(64),
    /** 0 for the first mail, n for the n-th reminder. */
    round: z.number().int().min(0).max(100),
    /** `<page>#<chunk>`: where in the campaign walk this batch came from, for logs. */
    origin: z.string().max(256),
    recipients: z.array(incidentRecipientSchema).min(1).max(50),
  })
  .strict();

export const notificationMessageSchema = z.discriminatedUnion('type', [
  passwordResetRequest,
  securityNotice,
  incidentBatch,
]);

export type NotificationMessage = z.infer<typeof notificationMessageSchema>;
export type IncidentBatchMessage = z.infer<typeof incidentBatch>;
export type IncidentRecipient = z.infer<typeof incidentRecipientSchema>;
export type PasswordResetRequestMessage = z.infer<typeof passwordResetRequest>;
export type SecurityNoticeMessage = z.infer<typeof securityNotice>;
