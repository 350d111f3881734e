import type { WeakPasswordReason } from '../errors.js';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
/** Identifiers shorter than this are too likely to appear by chance to reject a password for. */
const MIN_IDENTIFIER_LENGTH_TO_CHECK = 3;

/** NFKC first, so look-alike code points cannot slip a blocklisted password or a different hash through. */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

export function codePointLength(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

export interface PasswordContext {
  readonly email?: string;
  readonly username?: string;
}

/** Rules that need no I/O: length, the common-password blocklist, and the account's own identifiers. */
export function localPasswordProblems(
  normalisedPassword: string,
  context: PasswordContext,
  blocklist: ReadonlySet<string>,
): WeakPasswordReason[] {
  const reasons: WeakPasswordReason[] = [];
  const length = codePointLength(normalisedPassword);
  if (length < PASSWORD_MIN_LENGTH) reasons.push('too_short');
  if (length > PASSWORD_MAX_LENGTH) reasons.push('too_long');
  const lower = normalisedPassword.toLowerCase();
  if (blocklist.has(lower)) reasons.push('common');
  const identifiers = [context.email?.split('@')[0], context.username]
    .filter(
      (value): value is string => typeof value === 'string' && value.length >= MIN_IDENTIFIER_LENGTH_TO_CHECK,
    )
    .map((value) => value.toLowerCase());
  if (identifiers.some((identifier) => lower.includes(identifier))) reasons.push('contains_identifier');
  return reasons;
}
