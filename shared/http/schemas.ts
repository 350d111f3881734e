import { z } from 'zod';
import { USERNAME_PATTERN } from '../domain/identifiers.js';
import { GRANT_TYPES, SCOPE_TOKEN } from '../domain/oauth.js';
import { MAX_IMPORT_ROWS } from '../domain/user-import.js';

/**
 * Request bodies. Objects are strict (unknown fields are a 400), strings are bounded, and password
 * fields are bounded generously in UTF-16 units so the policy (8-256 code points) gives the 422.
 */
const email = z
  .string()
  .trim()
  .max(254, 'Must be at most 254 characters.')
  .email('Must be an email address.');
const username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(USERNAME_PATTERN, 'Must be 3-32 characters of a-z, 0-9, "_", "." or "-".');
// The policy's limit is 256 code points (422 too_long); this only stops absurd payloads early.
const password = z
  .string()
  .max(1024, 'Must be at most 1024 UTF-16 code units (the policy allows 256 characters).');
const otp = z.string().trim().min(1).max(64);
const deviceName = z.string().trim().min(1).max(100);
const opaqueToken = z.string().min(1).max(512);

export const createAccountBody = z.strictObject({ email, username, password });

export const loginBody = z.strictObject({
  login: z.string().trim().min(1, 'Required.').max(254),
  password,
  otp: otp.optional(),
  deviceName: deviceName.optional(),
});

export const refreshBody = z.strictObject({ refreshToken: opaqueToken });

export const adminCreateUserBody = z
  .strictObject({
    email,
    username: username.optional(),
    authMethod: z.enum(['password', 'sso']),
    password: password.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.authMethod === 'password' && value.password === undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'Required for password accounts.' });
    }
    if (value.authMethod === 'sso' && value.password !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'SSO accounts have no password.' });
    }
  });

export const forgotPasswordBody = z.strictObject({ email });

export const resetPasswordBody = z.strictObject({
  token: opaqueToken,
  newPassword: password,
  signOutAllDevices: z.boolean().optional().default(true),
  otp: otp.optional(),
});

export const changePasswordBody = z.strictObject({
  currentPassword: password,
  newPassword: password,
  signOutOtherDevices: z.boolean().optional().default(true),
});

export const totpSetupBody = z.strictObject({ password });
export const totpConfirmBody = z.strictObject({ otp });
export const totpDisableBody = z.strictObject({ password, otp });

export const ssoExchangeBody = z.strictObject({
  code: z.string().min(1).max(512),
  deviceName: deviceName.optional(),
});

/** Rows are checked one by one by the use-case (per-row results); only the envelope is checked here. */
export const importUsersBody = z.strictObject({
  users: z
    .array(z.unknown())
    .min(1, 'At least one user.')
    .max(MAX_IMPORT_ROWS, `At most ${MAX_IMPORT_ROWS} users per call; split the file into batches.`),
  mustResetPassword: z.boolean().optional(),
});
const scopeToken = z
  .string()
  .regex(SCOPE_TOKEN, 'Must be an RFC 6749 scope token (printable ASCII, no spaces).');

export const createClientBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  type: z.enum(['public', 'confidential']),
  grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).max(4),
  redirectUris: z.array(z.string().min(1).max(2000)).max(20).optional(),
  scopes: z.array(scopeToken).max(50).optional(),
});

export const authorizeCompleteBody = z.strictObject({ authorization: z.string().min(1).max(128) });

export const deviceUserCodeBody = z.strictObject({ userCode: z.string().trim().min(1).max(32) });
