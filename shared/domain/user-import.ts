import { z } from 'zod';
import { USERNAME_PATTERN } from './identifiers.js';

/**
 * Fast digests an import may carry (wrapped in argon2id at import, shared/crypto/imported-hashes.ts). Defined here,
 * not in the crypto module, so the HTTP schemas that read this file do not pull in argon2.
 */
export const FAST_DIGESTS = ['md5', 'sha1', 'sha256', 'sha512'] as const;

/** The contract's limit per `POST /v1/admin/users/import` call (and per batch of the S3 import job). */
export const MAX_IMPORT_ROWS = 500;

/**
 * One row of a user import. Validated row by row (not as part of the request body) so that one bad row
 * is reported as `invalid` and never fails the others.
 */
export const importRowSchema = z
  .strictObject({
    email: z.string().trim().max(254, 'Must be at most 254 characters.').email('Must be an email address.'),
    username: z
      .string()
      .trim()
      .toLowerCase()
      .regex(USERNAME_PATTERN, 'Must be 3-32 characters of a-z, 0-9, "_", "." or "-".')
      .optional(),
    externalId: z
      .string()
      .min(1)
      .max(256, 'Must be at most 256 characters.')
      .regex(/^[\x21-\x7e]+$/, 'Must be printable ASCII without spaces.')
      .optional(),
    authMethod: z.enum(['password', 'sso']),
    passwordHash: z
      .union([
        z.string().min(1).max(1024),
        z.strictObject({
          algorithm: z.enum(FAST_DIGESTS),
          hash: z.string().min(1).max(256),
          salt: z.string().max(1024).optional(),
          saltPosition: z.enum(['prefix', 'suffix']).optional(),
        }),
      ])
      .optional(),
    mustResetPassword: z.boolean().optional(),
  })
  .superRefine((row, ctx) => {
    if (row.authMethod === 'sso' && row.passwordHash !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['passwordHash'], message: 'SSO accounts have no password.' });
    }
  });

export type ImportRow = z.infer<typeof importRowSchema>;

export type ImportRowResult =
  | { readonly index: number; readonly status: 'created'; readonly userId: string }
  | {
      readonly index: number;
      readonly status: 'exists';
      readonly error: 'account_exists';
      readonly message: string;
    }
  | {
      readonly index: number;
      readonly status: 'invalid';
      readonly error: 'invalid_request';
      readonly message: string;
      readonly details: readonly { readonly path: string; readonly message: string }[];
    };

/** zod issues of a row -> the contract's `details` entries (field path and message, never the value). */
export function rowErrorDetails(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: 'Unknown field.' }));
    }
    if (base === '') return [{ path: '(row)', message: 'Must be a JSON object.' }];
    if (issue.code === 'invalid_type' && issue.input === undefined)
      return [{ path: base, message: 'Required.' }];
    return [{ path: base || '(row)', message: issue.message }];
  });
}
