import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import { sha256Hex } from '../crypto/secrets.js';
import { normalisePassword } from '../domain/password-policy.js';
import type { UserRecord } from '../domain/user.js';
import {
  ForbiddenError,
  InvalidCredentialsError,
  InvalidOtpError,
  MfaRequiredError,
  NotFoundError,
} from '../errors.js';
import { noteSecondFactorCheck } from '../logging.js';
import type { RequestOrigin } from '../stores/security-events-store.js';
import { recordEvent } from './accounts.js';
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

/** 80-bit codes, shown once, stored only as SHA-256 hashes; dashes and case are ignored on input. */
function newRecoveryCode(): string {
  const raw = randomBytes(10).toString('hex');
  return `${raw.slice(0, 5)}-${raw.slice(5, 10)}-${raw.slice(10, 15)}-${raw.slice(15, 20)}`;
}

function normaliseRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase();
}

type MfaDeps = Pick<Deps, 'users' | 'clock' | 'secretBox' | 'events'>;

/**
 * The second factor for login and reset: a TOTP code (each step once) or an unused recovery code.
 * Does nothing for accounts without TOTP.
 */
export async function checkSecondFactor(
  deps: MfaDeps,
  user: UserRecord,
  otp: string | undefined,
  origin: RequestOrigin,
): Promise<void> {
  if (user.mfaEnabled !== true || !user.totpSecret) return;
  noteSecondFactorCheck(user.userId);
  if (otp === undefined || otp.trim() === '') throw new MfaRequiredError();
  const code = otp.trim();
  const secret = await deps.secretBox.open(user.totpSecret);
  const step = await matchingStep(secret, code, deps.clock.now().getTime(), user.totpLastStep);
  if (step !== undefined) {
    if (await deps.users.useTotpStep(user.userId, step)) return;
    throw new InvalidOtpError();
  }
  const hash = sha256Hex(normaliseRecoveryCode(code));
  const index = (user.recoveryCodeHashes ?? []).indexOf(hash);
  if (index >= 0 && (await deps.users.useRecoveryCode(user.userId, index, hash))) {
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

async function requirePassword(deps: Pick<Deps, 'hasher'>, user: UserRecord, password: string) {
  if (!user.passwordHash || !(await deps.hasher.verify(user.passwordHash, normalisePassword(password)))) {
    throw new InvalidCredentialsError();
  }
}

export async function setupTotp(
  deps: MfaDeps & Pick<Deps, 'hasher'>,
  userId: string,
  password: string,
): Promise<{ secret: string; otpauthUri: string }> {
  const user = await requireUser(deps, userId);
  if (user.authMethod !== 'password') {
    throw new ForbiddenError('This account signs in with SSO; set up two-factor at your identity provider.');
  }
  if (user.mfaEnabled)
    throw new ForbiddenError('Two-factor authentication is already on. Turn it off first.');
  await requirePassword(deps, user, password);
  const secret = generateSecret({ length: 20 });
  await deps.users.savePendingTotp(userId, await deps.secretBox.seal(secret), deps.clock.now());
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
  const secret = await deps.secretBox.open(user.totpPendingSecret);
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
  deps: MfaDeps & Pick<Deps, 'hasher' | 'notifications'>,
  userId: string,
  input: { password: string; otp: string },
  origin: RequestOrigin,
): Promise<void> {
  const user = await requireUser(deps, userId);
  if (!user.mfaEnabled) throw new ForbiddenError('Two-factor authentication is not on.');
  await requirePassword(deps, user, input.password);
  await checkSecondFactor(deps, user, input.otp, origin);
  if (!(await deps.users.disableTotp(userId, deps.clock.now()))) {
    throw new ForbiddenError('Two-factor authentication is not on.');
  }
  await recordEvent(deps, userId, 'mfa_disabled', origin);
  await queueSecurityNotice(deps, user, 'mfa_disabled', origin);
}
