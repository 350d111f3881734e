import type { RequestOrigin } from '../domain/security-event.js';
import { NotFoundError } from '../errors.js';
import { recordEvent } from './audit.js';
import type { Principal } from './authenticate.js';
import type { Deps } from './deps.js';
import { queueSecurityNotice } from './notices.js';
import { queuePasswordResetMail } from './password-reset-mail.js';

export interface SecuredAccount {
  readonly signedOutAllDevices: true;
  readonly passwordResetRequired: boolean;
}

/**
 * "This wasn't me" (/security/report): the owner locks their own account down. Every token and session of the
 * account ends; a password account must also choose a new password (flag and token-version bump in one
 * conditional update), and gets a reset link; the report is kept in the account's history and raised to the
 * operators. The caller's own session ends too: whoever else holds it must not keep it.
 */
export type SecureAccountDeps = Pick<
  Deps,
  'users' | 'revocation' | 'clock' | 'events' | 'notifications' | 'operatorAlerts'
>;

export async function secureAccount(
  deps: SecureAccountDeps,
  principal: Principal,
  origin: RequestOrigin,
): Promise<SecuredAccount> {
  const now = deps.clock.now();
  const current = await deps.users.get(principal.userId);
  if (!current) throw new NotFoundError('The account no longer exists.');
  const passwordAccount = current.authMethod === 'password';
  const user = passwordAccount
    ? await deps.users.setMustResetPassword(principal.userId, { revokeSessions: true, now })
    : await deps.users.bumpTokenVersionReturningUser(principal.userId, now);
  deps.revocation.forget(principal.userId);
  await recordEvent(deps, principal.userId, 'account_secured', origin, {
    signedOutAllDevices: true,
    passwordResetRequired: passwordAccount,
  });
  deps.operatorAlerts.raise({
    kind: 'user_reported_compromise',
    userId: principal.userId,
    authMethod: current.authMethod,
    at: now.toISOString(),
  });
  if (passwordAccount) await queuePasswordResetMail(deps, user.email, origin, 'forced');
  else await queueSecurityNotice(deps, user, 'signed_out_all_devices', origin);
  return { signedOutAllDevices: true, passwordResetRequired: passwordAccount };
}
