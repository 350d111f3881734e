import { sha256Hex } from '../crypto/secrets.js';
import { normaliseEmail } from '../domain/identifiers.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { mustResetPassword } from '../domain/tenant-policy.js';
import type { UserRecord } from '../domain/user.js';
import {
  InvalidCredentialsError,
  InvalidResetTokenError,
  NotFoundError,
  PasswordResetRequiredError,
  TooManyRequestsError,
} from '../errors.js';
import { clearAttempts, userSubject } from './attempt-limiter.js';
import { recordEvent } from './audit.js';
import type { Principal } from './authenticate.js';
import type { Deps } from './deps.js';
import { consumeSecondFactor, requirePassword, verifySecondFactor } from './mfa.js';
import { queueSecurityNotice } from './notices.js';
import { acceptablePassword } from './password-acceptance.js';
import { queuePasswordResetMail } from './password-reset-mail.js';
import { startSession, type TokenResponse } from './session-tokens.js';

/** Same answer and same work whatever the email: the notifier decides what, if anything, to send. */
export async function forgotPassword(
  deps: Pick<Deps, 'notifications' | 'clock' | 'throttles' | 'config'>,
  email: string,
  origin: RequestOrigin,
): Promise<void> {
  // Mail limits protect inboxes; this protects the queue and our bill from one noisy address.
  const limit = deps.config.forgotPasswordMaxPerIpPerHour;
  const count = await deps.throttles.increment(
    'forgot-ip',
    origin.ip ?? 'unknown',
    3600,
    deps.clock.now().getTime(),
  );
  if (count > limit) throw new TooManyRequestsError(3600 - ((deps.clock.now().getTime() / 1000) % 3600));
  await queuePasswordResetMail(deps, normaliseEmail(email), origin, 'requested');
}

export interface ResetPasswordInput {
  readonly token: string;
  readonly newPassword: string;
  readonly signOutAllDevices: boolean;
  readonly otp?: string;
}

type ResetDeps = Pick<
  Deps,
  | 'attempts'
  | 'config'
  | 'throttles'
  | 'users'
  | 'resetTokens'
  | 'hasher'
  | 'clock'
  | 'events'
  | 'notifications'
  | 'revocation'
  | 'secretBox'
  | 'passwordBlocklist'
  | 'breachedPasswords'
>;

async function validResetTarget(deps: ResetDeps, tokenHash: string, now: Date): Promise<UserRecord> {
  const token = await deps.resetTokens.get(tokenHash);
  if (!token || token.usedAt !== undefined || token.expiresAt * 1000 <= now.getTime()) {
    throw new InvalidResetTokenError();
  }
  const user = await deps.users.get(token.userId);
  // A completed reset (or any later password change) makes every token minted before it useless.
  if (user?.authMethod !== 'password' || (user.passwordSetAt ?? 0) >= token.createdAtMs) {
    throw new InvalidResetTokenError();
  }
  return user;
}

export async function resetPassword(
  deps: ResetDeps,
  input: ResetPasswordInput,
  origin: RequestOrigin,
): Promise<{ signedOutAllDevices: boolean }> {
  const now = deps.clock.now();
  const tokenHash = sha256Hex(input.token);
  const user = await validResetTarget(deps, tokenHash, now);
  // The code first: the policy compares with the current password (same_as_current), which must answer
  // nobody who holds only the link. Guesses are limited per link (ADR 0006); the code is used up only
  // once the whole reset succeeds, so a weak new password does not cost the owner their code.
  const secondFactor = await verifySecondFactor(deps, user, input.otp, origin, {
    source: `link:${tokenHash.slice(0, 32)}`,
    accountGate: false,
    // A link lives 30 minutes: one day-long window makes the per-link limit hold for its whole life.
    perSourceWindowSeconds: deps.config.attempts.accountWindowSeconds,
    passwordProved: false,
  });
  const password = await acceptablePassword(deps, input.newPassword, {
    email: user.email,
    username: user.username,
    currentPasswordHash: user.passwordHash,
  });
  await consumeSecondFactor(deps, user, secondFactor, origin);
  const passwordHash = await deps.hasher.hash(password);
  const done = await deps.users.setPasswordTogether(
    user.userId,
    { passwordHash, expectedHash: user.passwordHash, signOut: input.signOutAllDevices, now },
    [deps.resetTokens.consumeItem(tokenHash, now)],
  );
  // Lost a race with another confirm of this (or another) token: same answer as a used token.
  if (!done) throw new InvalidResetTokenError();
  deps.revocation.forget(user.userId);
  // Whatever others did to this account's counters is forgotten: a reset lets the owner back in.
  await clearAttempts(deps, userSubject(user.userId));
  await recordEvent(deps, user.userId, 'password_reset_completed', origin, {
    signedOutAllDevices: input.signOutAllDevices,
  });
  await queueSecurityNotice(deps, user, 'password_changed', origin);
  return { signedOutAllDevices: input.signOutAllDevices };
}

export interface ChangePasswordInput {
  readonly currentPassword: string;
  readonly newPassword: string;
  readonly signOutOtherDevices: boolean;
}

export async function changePassword(
  deps: ResetDeps & Pick<Deps, 'sessions' | 'accessTokens' | 'tenantPolicy'>,
  principal: Principal,
  input: ChangePasswordInput,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const now = deps.clock.now();
  const user = await deps.users.get(principal.userId);
  if (!user) throw new NotFoundError('The account no longer exists.');
  // An old session plus the leaked password must not be able to undo a forced reset: reset by email instead.
  // Strongly consistent, never the revocation cache: the same read decides the new token's `iat` (exact cut-off).
  const tenant = await deps.tenantPolicy.get();
  if (mustResetPassword(user, tenant)) throw new PasswordResetRequiredError();
  const session = await deps.sessions.get(principal.userId, principal.sessionId);
  // A stolen access token must not become an unlimited password oracle: the sign-in limiter applies.
  await requirePassword(deps, user, input.currentPassword, origin);
  const password = await acceptablePassword(deps, input.newPassword, {
    email: user.email,
    username: user.username,
    currentPasswordHash: user.passwordHash,
  });
  const passwordHash = await deps.hasher.hash(password);
  const updated = await deps.users.setPassword(user.userId, {
    passwordHash,
    expectedHash: user.passwordHash,
    signOut: input.signOutOtherDevices,
    now,
  });
  if (!updated) throw new InvalidCredentialsError();
  // This device continues on a fresh session; with sign-out, every other session is already stale.
  await deps.sessions.delete(principal.userId, principal.sessionId);
  deps.revocation.forget(user.userId);
  const tokens = await startSession(deps, updated, session?.deviceName ?? undefined, tenant);
  await recordEvent(deps, user.userId, 'password_changed', origin, {
    signedOutOtherDevices: input.signOutOtherDevices,
  });
  await queueSecurityNotice(deps, user, 'password_changed', origin);
  return tokens;
}
