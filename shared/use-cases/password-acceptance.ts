import { localPasswordProblems, normalisePassword, type PasswordContext } from '../domain/password-policy.js';
import { WeakPasswordError } from '../errors.js';
import type { Deps } from './deps.js';

/**
 * Applies the whole password policy and returns the NFKC-normalised password to hash. The online
 * breach check runs only when the cheap rules pass, and `same_as_current` costs one argon2 verify.
 */
export async function acceptablePassword(
  deps: Pick<Deps, 'passwordBlocklist' | 'breachedPasswords' | 'hasher'>,
  password: string,
  context: PasswordContext & { currentPasswordHash?: string },
): Promise<string> {
  const normalised = normalisePassword(password);
  const reasons = localPasswordProblems(normalised, context, deps.passwordBlocklist);
  if (reasons.length === 0 && context.currentPasswordHash !== undefined) {
    if (await deps.hasher.verify(context.currentPasswordHash, normalised)) reasons.push('same_as_current');
  }
  if (
    reasons.length === 0 &&
    deps.breachedPasswords &&
    (await deps.breachedPasswords.isBreached(normalised))
  ) {
    reasons.push('breached');
  }
  if (reasons.length > 0) throw new WeakPasswordError(reasons);
  return normalised;
}
