import { sha256Hex } from '../crypto/secrets.js';
import { parseLoginIdentifier } from '../domain/identifiers.js';
import { normalisePassword } from '../domain/password-policy.js';
import type { UserRecord } from '../domain/user.js';
import { InvalidCredentialsError, PasswordResetRequiredError, TooManyRequestsError } from '../errors.js';
import type { RequestOrigin } from '../stores/security-events-store.js';
import type { TenantPolicy } from '../stores/tenant-policy-store.js';
import { recordEvent } from './accounts.js';
import { flagIfPasswordBreached } from './breached-password-at-sign-in.js';
import type { Deps } from './deps.js';
import { checkSecondFactor } from './mfa.js';
import { queuePasswordResetMail } from './password-reset-mail.js';
import { startSession, type TokenResponse } from './session-tokens.js';

export interface LoginInput {
  readonly login: string;
  readonly password: string;
  readonly otp?: string;
  readonly deviceName?: string;
}

type LoginDeps = Pick<
  Deps,
  | 'config'
  | 'users'
  | 'sessions'
  | 'hasher'
  | 'accessTokens'
  | 'revocation'
  | 'clock'
  | 'events'
  | 'throttles'
  | 'notifications'
  | 'secretBox'
  | 'breachedPasswords'
>;

/** True when an admin, a scoped incident or a tenant-wide incident requires this account to reset. */
export function mustResetPassword(user: UserRecord, tenant: TenantPolicy): boolean {
  if (user.authMethod !== 'password') return false;
  if (user.mustResetPassword) return true;
  const cutOff = tenant.forceResetPasswordsSetBefore;
  return cutOff !== undefined && (user.passwordSetAt ?? 0) < cutOff;
}

export async function login(
  deps: LoginDeps,
  input: LoginInput,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const nowMs = deps.clock.now().getTime();
  const identifier = parseLoginIdentifier(input.login);
  const user = await deps.users.findByIdentifier(identifier, { equalWork: true });
  const throttle = deps.config.loginThrottle;
  // Unknown identifiers get their own counter, so throttling behaves the same whether or not the account exists.
  const accountKey = user
    ? `user:${user.userId}`
    : `login:${sha256Hex(`${identifier.kind}#${identifier.value}`)}`;
  const ipKey = origin.ip ?? 'unknown';
  const { counts, windowEndsAt } = await deps.throttles.counts(
    [
      { scope: 'login-account', key: accountKey },
      { scope: 'login-ip', key: ipKey },
    ],
    throttle.windowSeconds,
    nowMs,
  );
  if ((counts[0] ?? 0) >= throttle.maxFailuresPerAccount || (counts[1] ?? 0) >= throttle.maxFailuresPerIp) {
    throw new TooManyRequestsError(
      windowEndsAt - nowMs / 1000,
      'Too many failed sign-in attempts. Try again later, or reset your password.',
    );
  }

  const password = normalisePassword(input.password);
  let passwordOk = false;
  if (user?.authMethod === 'password' && user.passwordHash !== undefined) {
    passwordOk = await deps.hasher.verify(user.passwordHash, password);
  } else {
    // Unknown and SSO-only accounts cost the same argon2 work as a wrong password.
    await deps.hasher.verifyDummy(password);
  }

  if (!passwordOk || !user) {
    await Promise.all([
      deps.throttles.increment('login-account', accountKey, throttle.windowSeconds, nowMs),
      deps.throttles.increment('login-ip', ipKey, throttle.windowSeconds, nowMs),
      user
        ? recordEvent(deps, user.userId, 'login_failed', origin, { reason: 'invalid_credentials' })
        : undefined,
    ]);
    throw new InvalidCredentialsError();
  }

  await checkSecondFactor(deps, user, input.otp, origin);

  if (
    mustResetPassword(user, await deps.revocation.readTenant()) ||
    (await flagIfPasswordBreached(deps, user, password, origin))
  ) {
    await queuePasswordResetMail(deps, user.email, origin, 'forced');
    await recordEvent(deps, user.userId, 'login_failed', origin, { reason: 'password_reset_required' });
    throw new PasswordResetRequiredError();
  }

  if (deps.hasher.needsRehash(user.passwordHash!)) {
    // Upgrades old hashes to the current parameters while we hold the plaintext; losing a race is fine.
    await deps.users.replacePasswordHash(user.userId, user.passwordHash!, await deps.hasher.hash(password));
  }

  const tokens = await startSession(deps, user, input.deviceName);
  await recordEvent(deps, user.userId, 'login_succeeded', origin, {
    sessionId: tokens.sessionId,
    deviceName: input.deviceName ?? null,
  });
  return tokens;
}
