import { sha256Hex } from '../crypto/secrets.js';
import { parseLoginIdentifier } from '../domain/identifiers.js';
import { normalisePassword } from '../domain/password-policy.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { mustResetPassword } from '../domain/tenant-policy.js';
import { InvalidCredentialsError, PasswordResetRequiredError } from '../errors.js';
import { recordCompleteSignIn, reserveAttempt, sourceOf, userSubject } from './attempt-limiter.js';
import { recordEvent } from './audit.js';
import { flagIfPasswordBreached } from './breached-password-at-sign-in.js';
import type { Deps } from './deps.js';
import { consumeSecondFactor, verifySecondFactor } from './mfa.js';
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
  | 'tenantPolicy'
  | 'revocation'
  | 'clock'
  | 'events'
  | 'throttles'
  | 'attempts'
  | 'notifications'
  | 'secretBox'
  | 'breachedPasswords'
>;

export async function login(
  deps: LoginDeps,
  input: LoginInput,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const identifier = parseLoginIdentifier(input.login);
  const user = await deps.users.findByIdentifier(identifier, { equalWork: true });
  // Unknown identifiers get their own counters, so throttling behaves the same whether or not the account exists.
  const subject = user
    ? userSubject(user.userId)
    : `login:${sha256Hex(`${identifier.kind}#${identifier.value}`)}`;
  const source = sourceOf(origin.ip);
  const reservation = await reserveAttempt(deps, {
    kind: 'password',
    subject,
    source,
    accountGate: true,
    sprayingSource: source,
  });

  const password = normalisePassword(input.password);
  let passwordOk = false;
  if (user?.authMethod === 'password' && user.passwordHash !== undefined) {
    passwordOk = await deps.hasher.verify(user.passwordHash, password);
  } else {
    // Unknown and SSO-only accounts cost the same argon2 work as a wrong password.
    await deps.hasher.verifyDummy(password);
  }

  if (!passwordOk || !user) {
    if (user) await recordEvent(deps, user.userId, 'login_failed', origin, { reason: 'invalid_credentials' });
    throw new InvalidCredentialsError();
  }
  await reservation.succeeded();

  const secondFactor = await verifySecondFactor(deps, user, input.otp, origin, {
    source,
    accountGate: true,
    passwordProved: true,
  });

  // Before the code is used up: a refused sign-in must leave the owner's code (or recovery code) valid.
  // Strongly consistent, never the revocation cache: this read also decides the new token's `iat` (exact cut-off).
  const tenant = await deps.tenantPolicy.get();
  if (mustResetPassword(user, tenant) || (await flagIfPasswordBreached(deps, user, password, origin))) {
    await queuePasswordResetMail(deps, user.email, origin, 'forced');
    await recordEvent(deps, user.userId, 'login_failed', origin, { reason: 'password_reset_required' });
    throw new PasswordResetRequiredError();
  }
  await consumeSecondFactor(deps, user, secondFactor, origin);

  if (deps.hasher.needsRehash(user.passwordHash!)) {
    // Upgrades old hashes to the current parameters while we hold the plaintext; losing a race is fine.
    await deps.users.replacePasswordHash(user.userId, user.passwordHash!, await deps.hasher.hash(password));
  }

  const tokens = await startSession(deps, user, input.deviceName, tenant);
  await recordCompleteSignIn(deps, subject, source, secondFactor !== undefined);
  await recordEvent(deps, user.userId, 'login_succeeded', origin, {
    sessionId: tokens.sessionId,
    deviceName: input.deviceName ?? null,
  });
  return tokens;
}
