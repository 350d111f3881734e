import type { RequestOrigin } from '../domain/security-event.js';
import type { UserRecord } from '../domain/user.js';
import { recordEvent } from './audit.js';
import type { Deps } from './deps.js';

/**
 * Called after a correct password when the breached-password check is on (BREACHED_PASSWORD_CHECK=hibp):
 * a password found in a breach corpus is evidence of compromise, so the account is flagged for a forced
 * reset (NIST SP 800-63B 5.1.1.2) and the caller walks into the usual forced-reset flow. The checker
 * fails open, so an outage of the range API never blocks a sign-in. Returns true when the account was flagged.
 */
export async function flagIfPasswordBreached(
  deps: Pick<Deps, 'breachedPasswords' | 'users' | 'events' | 'clock'>,
  user: UserRecord,
  password: string,
  origin: RequestOrigin,
): Promise<boolean> {
  if (!deps.breachedPasswords || user.authMethod !== 'password') return false;
  if (!(await deps.breachedPasswords.isBreached(password))) return false;
  // Persisted, so the reset stays required even if the next lookup fails open.
  await deps.users.setMustResetPassword(user.userId, { revokeSessions: false, now: deps.clock.now() });
  await recordEvent(deps, user.userId, 'breached_password_detected', origin, { source: 'hibp' });
  return true;
}
