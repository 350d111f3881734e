import { z } from 'zod';
import { normaliseAudienceEntry } from '../domain/audience-entry.js';
import { normaliseEmail } from '../domain/identifiers.js';

/**
 * Request bodies of the incident admin routes. Strict objects (unknown fields are a 400) and bounded lists:
 * the HTTP layer caps bodies at 16 KiB, and 1,000 entries is the most a scoped incident applies in the
 * request that declares it (larger audiences are `scope: all` or several incidents).
 */
export const MAX_SCOPE_ENTRIES = 1000;
/** A send time further out than this is almost certainly a typo (a year instead of a day). */
const MAX_SEND_AHEAD_MS = 366 * 24 * 60 * 60 * 1000;

/** Control characters would end up in a mail subject or body (header injection, garbled text). */
const hasControlCharacter = (value: string) =>
  [...value].some((char) => {
    const code = char.codePointAt(0) ?? 0;
    return code < 0x20 || code === 0x7f;
  });

const title = z
  .string()
  .trim()
  .min(1, 'Required.')
  .max(200, 'Must be at most 200 characters.')
  .refine((value) => !hasControlCharacter(value), 'Must not contain control characters or line breaks.');

function uniqueList<T extends z.ZodType<string>>(item: T, what: string) {
  return z
    .array(item)
    .min(1, `Must list at least one ${what}.`)
    .max(
      MAX_SCOPE_ENTRIES,
      `Must list at most ${MAX_SCOPE_ENTRIES} ${what}s; use several incidents or scope "all".`,
    )
    .superRefine((values, ctx) => {
      const seen = new Set<string>();
      values.forEach((value, index) => {
        if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [index], message: `Duplicate ${what}.` });
        seen.add(value);
      });
    });
}

const userId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'Must be a user id.');
const email = z
  .string()
  .trim()
  .max(254, 'Must be at most 254 characters.')
  .email('Must be an email address.')
  .transform(normaliseEmail);

const scope = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('all') }),
  z.strictObject({ type: z.literal('users'), userIds: uniqueList(userId, 'user id') }),
  z.strictObject({ type: z.literal('emails'), emails: uniqueList(email, 'email') }),
  // Any size: the entries follow in chunks through POST /v1/admin/incidents/{id}/audience.
  z.strictObject({ type: z.literal('list') }),
]);

const sendAt = z.iso
  .datetime({ offset: true, message: 'Must be an ISO-8601 date and time, e.g. 2026-11-22T16:00:00Z.' })
  .refine((value) => Number.isFinite(Date.parse(value)), 'Must be a valid date and time.')
  .refine((value) => Date.parse(value) - Date.now() <= MAX_SEND_AHEAD_MS, 'Must be within a year from now.');

export const createIncidentBody = z
  .strictObject({
    title,
    scope,
    actions: z.strictObject({ forcePasswordReset: z.boolean(), revokeSessions: z.boolean() }),
    notify: z.strictObject({
      enabled: z.boolean(),
      sendAt: sendAt.optional(),
      remindAfterHours: z
        .number()
        .positive('Must be a positive number of hours.')
        .max(24 * 30)
        .optional(),
    }),
  })
  .superRefine((value, ctx) => {
    if (value.scope.type === 'list' && value.notify.sendAt !== undefined) {
      // A listed audience is protected and notified from its close on: a later send time would also delay
      // the forced resets and revocations, which must not wait.
      ctx.addIssue({
        code: 'custom',
        path: ['notify', 'sendAt'],
        message: 'Not supported with scope "list": effects and mail start when the audience is closed.',
      });
    }
    if (value.scope.type === 'list' && !value.notify.enabled) {
      // The per-entry report answers "was this person told?": a silent listed incident has no answer to give.
      ctx.addIssue({
        code: 'custom',
        path: ['notify', 'enabled'],
        message: 'Must be true with scope "list".',
      });
    }
    if (value.notify.remindAfterHours === undefined) return;
    // Reminders re-mail accounts that still have not reset: without a forced reset (or mail) there are none.
    if (!value.actions.forcePasswordReset) {
      ctx.addIssue({
        code: 'custom',
        path: ['notify', 'remindAfterHours'],
        message: 'Reminders need actions.forcePasswordReset.',
      });
    }
    if (!value.notify.enabled) {
      ctx.addIssue({
        code: 'custom',
        path: ['notify', 'remindAfterHours'],
        message: 'Reminders need notify.enabled.',
      });
    }
  });

export type CreateIncidentBody = z.infer<typeof createIncidentBody>;

export const forceResetBody = z.strictObject({
  revokeSessions: z.boolean().optional().default(true),
  notify: z.boolean().optional().default(true),
});

/** Entries per audience chunk: 10,000 emails of ordinary length fit the route's 1 MiB body. */
export const MAX_AUDIENCE_CHUNK = 10_000;

export const audienceChunkBody = z.strictObject({
  entries: z
    .array(z.string().max(300, 'Must be at most 300 characters.'))
    .min(1, 'Must list at least one entry.')
    .max(MAX_AUDIENCE_CHUNK, `Must list at most ${MAX_AUDIENCE_CHUNK} entries; send several chunks.`)
    .transform((entries, ctx) => {
      const normalised: string[] = [];
      entries.forEach((entry, index) => {
        const value = normaliseAudienceEntry(entry);
        if (value === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: 'Must be a user id, an email address or ext:<external id>.',
          });
        } else normalised.push(value);
      });
      return normalised;
    }),
});

export type AudienceChunkBody = z.infer<typeof audienceChunkBody>;
