import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import { sha256Hex } from '../crypto/secrets.js';
import { normalisePassword } from '../domain/password-policy.js';
import type { RequestOrigin } from '../domain/security-event.js';
import type { UserRecord } from '../domain/user.js';
import {
  ForbiddenError,
  InvalidCredentialsError,
  InvalidOtpError,
  MfaRequiredError,
  NotFoundError,
} from '../errors.js';
import { noteSecondFactorCheck } from '../logging.js';
import { reserveAttempt, sourceOf, userSubject } from './attempt-limiter.js';
import { recordEvent } from './audit.js';
import type { Deps } from './deps.js';
import { queueSecurityNotice } from './notices.js';

const TOTP_PERIOD_SECONDS = 30;
const RECOVERY_CODE_COUNT = 10;
const TOTP_ISSUER = 'account-shield';

/** RFC 6238 as the contract pins it: SHA-1, 6 digits, 30 s, one step either side. */
async function matchingStep(secret: string, otp: string, nowMs: number, afterStep?: number) {
  if (!/^\d{6}$/.test(otp)) return undefined;
  const result = await verifyTotp({
    secret,
    token: otp,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: TOTP_PERIOD_SECONDS,
    ...(afterStep === undefined ? {} : { afterTimeStep: afterStep }),
  });
  return result.valid ? (result as { timeStep: number }).timeStep : undefined;
}

/** Lower-case RFC 4648 base32: no 0/1/8/9, so codes survive being read aloud or copied by hand. */
const RECOVERY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * 120-bit codes (ASVS 5.0 6.5.2 asks for at least 112 bits when a code is stored with a fast hash), shown
 * once, stored only as SHA-256 hashes; six groups of four, and dashes, spaces and case are ignored on input.
 */
export function newRecoveryCode(): string {
  const bytes = randomBytes(15);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += RECOVERY_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

export function normaliseRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase();
}

/** The user id is sealed into every TOTP secret, so one copied onto another account does not open. */
const secretBinding = (userId: string) => `totp:${userId}`;

type MfaDeps = Pick<Deps, 'users' | 'clock' | 'secretBox' | 'events'>;
type LimitedDeps = MfaDeps & Pick<Deps, 'attempts' | 'config' | 'throttles' | 'notifications'>;

/** A second factor that matched but is not used up yet (see `consumeSecondFactor`). */
export type SecondFactorMatch =
  | { readonly kind: 'totp'; readonly step: number }
  | { readonly kind: 'recovery'; readonly index: number; readonly hash: string };

async function matchSecondFactor(
  deps: MfaDeps,
  user: UserRecord,
  code: string,
): Promise<SecondFactorMatch | undefined> {
  const secret = await deps.secretBox.open(user.totpSecret!, secretBinding(user.userId));
  const step = await matchingStep(secret, code, deps.clock.now().getTime(), user.totpLastStep);
  if (step !== undefined) return { kind: 'totp', step };
  const hash = sha256Hex(normaliseRecoveryCode(code));
  const index = (user.recoveryCodeHashes ?? []).indexOf(hash);
  return index >= 0 ? { kind: 'recovery', index, hash } : undefined;
}

export interface SecondFactorCheck {
  /** Where the guess comes from: the source address, or the reset link (see AttemptScope). */
  readonly source: string;
  readonly accountGate: boolean;
  readonly perSourceWindowSeconds?: number;
  /** The caller has just proved the password: a wrong code then means someone else may hold it. */
  readonly passwordProved: boolean;
}

/**
 * The second factor for login, reset and turning TOTP off: through the attempt limiter, and without using
 * the code up, so a request refused afterwards (a forced reset, a weak new password) does not burn it.
 * Returns undefined for accounts without TOTP; throws mfa_required, invalid_otp or too_many_requests.
 */
export async function verifySecondFactor(
  deps: LimitedDeps,
  user: UserRecord,
  otp: string | undefined,
  origin: RequestOrigin,
  check: SecondFactorCheck,
): Promise<SecondFactorMatch | undefined> {
  if (user.mfaEnabled !== true || !user.totpSecret) return undefined;
  noteSecondFactorCheck(user.userId);
  if (otp === undefined || otp.trim() === '') throw new MfaRequiredError();
  const reservation = await reserveAttempt(deps, {
    kind: 'code',
    subject: userSubject(user.userId),
    source: check.source,
    accountGate: check.accountGate,
    ...(check.perSourceWindowSeconds === undefined
      ? {}
      : { perSourceWindowSeconds: check.perSourceWindowSeconds }),
  });
  const match = await matchSecondFactor(deps, user, otp.trim());
  if (match) {
    await reservation.succeeded();
    return match;
  }
  await recordEvent(deps, user.userId, 'second_factor_failed', origin, {
    passwordProved: check.passwordProved,
  });
  if (check.passwordProved) await warnOwnerOfWrongCode(deps, user, origin);
  throw new InvalidOtpError();
}

/** "Someone entered your password with a wrong code": at most one mail per limiter window. */
async function warnOwnerOfWrongCode(deps: LimitedDeps, user: UserRecord, origin: RequestOrigin) {
  const windowSeconds = deps.config.attempts.windowSeconds;
  const first = await deps.throttles.tryTake(
    'notice-wrong-code',
    user.userId,
    1,
    windowSeconds,
    deps.clock.now().getTime(),
  );
  if (first) await queueSecurityNotice(deps, user, 'second_factor_failed', origin);
}

/** Uses a matched code up (each TOTP step once, each recovery code once); a lost race is invalid_otp. */
export async function consumeSecondFactor(
  deps: MfaDeps,
  user: UserRecord,
  match: SecondFactorMatch | undefined,
  origin: RequestOrigin,
): Promise<void> {
  if (!match) return;
  if (match.kind === 'totp') {
    if (await deps.users.useTotpStep(user.userId, match.step)) return;
    throw new InvalidOtpError();
  }
  if (await deps.users.useRecoveryCode(user.userId, match.index, match.hash)) {
    await recordEvent(deps, user.userId, 'recovery_code_used', origin, {
      remaining: (user.recoveryCodeHashes?.length ?? 1) - 1,
    });
    return;
  }
  throw new InvalidOtpError();
}

async function requireUser(deps: Pick<Deps, 'users'>, userId: string): Promise<UserRecord> {
  const user = await deps.users.get(userId);
  if (!user) throw new NotFoundError('The account no longer exists.');
  return user;
}

/**
 * A password check on a signed-in route: the same limiter as sign-in, so a stolen access token is not an
 * unlimited password oracle.
 */
export async function requirePassword(
  deps: Pick<Deps, 'hasher' | 'attempts' | 'clock' | 'config'>,
  user: UserRecord,
  password: string,
  origin: RequestOrigin,
): Promise<void> {
  const reservation = await reserveAttempt(deps, {
    kind: 'password',
    subject: userSubject(user.userId),
    source: sourceOf(origin.ip),
    accountGate: true,
  });
  if (!user.passwordHash || !(await deps.hasher.verify(user.passwordHash, normalisePassword(password)))) {
    throw new InvalidCredentialsError();
  }
  await reservation.succeeded();
}

export async function setupTotp(
  deps: MfaDeps & Pick<Deps, 'hasher' | 'attempts' | 'config'>,
  userId: string,
  password: string,
  origin: RequestOrigin,
): Promise<{ secret: string; otpauthUri: string }> {
  const user = await requireUser(deps, userId);
  if (user.authMethod !== 'password') {
    throw new ForbiddenError('This account signs in with SSO; set up two-factor at your identity provider.');
  }
  if (user.mfaEnabled)
    throw new ForbiddenError('Two-factor authentication is already on. Turn it off first.');
  await requirePassword(deps, user, password, origin);
  const secret = generateSecret({ length: 20 });
  const sealed = await deps.secretBox.seal(secret, secretBinding(userId));
  await deps.users.savePendingTotp(userId, sealed, deps.clock.now());
  return { secret, otpauthUri: generateURI({ issuer: TOTP_ISSUER, label: user.email, secret }) };
}

export async function confirmTotp(
  deps: MfaDeps & Pick<Deps, 'notifications'>,
  userId: string,
  otp: string,
  origin: RequestOrigin,
): Promise<{ recoveryCodes: string[] }> {
  const user = await requireUser(deps, userId);
  if (user.mfaEnabled) throw new ForbiddenError('Two-factor authentication is already on.');
  if (!user.totpPendingSecret) throw new ForbiddenError('Start with POST /v1/auth/mfa/totp/setup.');
  const secret = await deps.secretBox.open(user.totpPendingSecret, secretBinding(userId));
  const step = await matchingStep(secret, otp.trim(), deps.clock.now().getTime());
  if (step === undefined) throw new InvalidOtpError();
  const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const enabled = await deps.users.enableTotp(userId, {
    sealedSecret: user.totpPendingSecret,
    step,
    recoveryCodeHashes: recoveryCodes.map((code) => sha256Hex(normaliseRecoveryCode(code))),
    now: deps.clock.now(),
  });
  if (!enabled) throw new InvalidOtpError();
  await recordEvent(deps, userId, 'mfa_enabled', origin);
  await queueSecurityNotice(deps, user, 'mfa_enabled', origin);
  return { recoveryCodes };
}

export async function disableTotp(
  deps: LimitedDeps & Pick<Deps, 'hasher'>,
  userId: string,
  input: { password: string; otp: string },
  origin: RequestOrigin,
): Promise<void> {
  const user = await requireUser(deps, userId);
  if (!user.mfaEnabled) throw new ForbiddenError('Two-factor authentication is not on.');
  await requirePassword(deps, user, input.password, origin);
  const match = await verifySecondFactor(deps, user, input.otp, origin, {
    source: sourceOf(origin.ip),
    accountGate: true,
    passwordProved: true,
  });
  await consumeSecondFactor(deps, user, match, origin);
  if (!(await deps.users.disableTotp(userId, deps.clock.now()))) {
    throw new ForbiddenError('Two-factor authentication is not on.');
  }
  await recordEvent(deps, userId, 'mfa_disabled', origin);
  await queueSecurityNotice(deps, user, 'mfa_disabled', origin);
}
