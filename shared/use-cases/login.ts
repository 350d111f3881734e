import { sha256Hex } from '../crypto/secrets.js';
import { parseLoginIdentifier } from '../domain/identifiers.js';
import { normalisePassword } from '../domain/password-policy.js';
import type { RequestOrigin } from '../domain/security-event.js';
import type { TenantPolicy } from '../domain/tenant-policy.js';
import { mustResetPassword } from '../domain/tenant-policy.js';
import type { UserRecord } from '../domain/user.js';
import { InvalidCredentialsError, PasswordResetRequiredError } from '../errors.js';
import { completeSignInWrites, sourceOf, stageAttempt, userSubject } from './attempt-limiter.js';
import { noteEvent, recordEvent, securityEvent } from './audit.js';
import { flagIfPasswordBreached } from './breached-password-at-sign-in.js';
import type { Deps } from './deps.js';
import { consumeSecondFactor, verifySecondFactor } from './mfa.js';
import { queuePasswordResetMail } from './password-reset-mail.js';
import { newSession, sessionTokens, type TokenResponse } from './session-tokens.js';

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

/** How often a sign-in decides again when incidents keep moving the tenant policy under it. */
const MAX_COMMIT_ROUNDS = 3;

/**
 * At most three DynamoDB round trips one after another on the way to a session (four from a source the account
 * never signed in from, whose account-wide gate must wait for the known-source read):
 * 1. identifier lookup, tenant policy and this source's attempts across all accounts, side by side;
 * 2. the account (or, for an unknown identifier, a key no account has: equal reads) and its own attempt counters;
 * then argon2, which runs only on an attempt already reserved;
 * 3. one transaction: the session, its security event, the attempt limiter's records of a complete sign-in, and
 *    the condition that the tenant policy decided on in step 1 is still current (else decide again).
 */
export async function login(
  deps: LoginDeps,
  input: LoginInput,
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const identifier = parseLoginIdentifier(input.login);
  const source = sourceOf(origin.ip);
  const attempt = stageAttempt(deps, 'password');
  // Strongly consistent, never the revocation cache: it decides a forced reset and the new token's `iat`.
  const [userId, tenant] = await Promise.all([
    deps.users.findUserId(identifier),
    deps.tenantPolicy.get(),
    attempt.takeAcrossAccounts(source),
  ]);
  // Unknown identifiers get their own counters, so throttling behaves the same whether or not the account exists.
  const subject =
    userId !== undefined
      ? userSubject(userId)
      : `login:${sha256Hex(`${identifier.kind}#${identifier.value}`)}`;
  const [user] = await Promise.all([
    deps.users.getWithEqualWork(userId),
    attempt.takeForSubject({ subject, source, accountGate: true }),
  ]);

  // Only now, with every counter taken: however many requests race, no more argon2 checks run than allowed.
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
  // The right password gives its attempts back while the sign-in goes on; settled before we answer.
  const givenBack = attempt.succeeded();
  try {
    return await completeSignIn(deps, user, password, input, origin, { subject, source, tenant });
  } finally {
    await givenBack;
  }
}

async function completeSignIn(
  deps: LoginDeps,
  user: UserRecord,
  password: string,
  input: LoginInput,
  origin: RequestOrigin,
  context: { readonly subject: string; readonly source: string; readonly tenant: TenantPolicy },
): Promise<TokenResponse> {
  const secondFactor = await verifySecondFactor(deps, user, input.otp, origin, {
    source: context.source,
    accountGate: true,
    passwordProved: true,
  });
  const refuseForReset = async (): Promise<never> => {
    await Promise.all([
      queuePasswordResetMail(deps, user.email, origin, 'forced'),
      recordEvent(deps, user.userId, 'login_failed', origin, { reason: 'password_reset_required' }),
    ]);
    throw new PasswordResetRequiredError();
  };
  // Before the code is used up: a refused sign-in must leave the owner's code (or recovery code) valid.
  if (
    mustResetPassword(user, context.tenant) ||
    (await flagIfPasswordBreached(deps, user, password, origin))
  ) {
    return refuseForReset();
  }
  await consumeSecondFactor(deps, user, secondFactor, origin);

  // Upgrades old hashes to the current parameters while we hold the plaintext; losing a race is fine.
  const rehashed = deps.hasher.needsRehash(user.passwordHash!)
    ? deps.hasher
        .hash(password)
        .then((hash) => deps.users.replacePasswordHash(user.userId, user.passwordHash!, hash))
    : undefined;

  let tenant = context.tenant;
  for (let round = 1; ; round += 1) {
    const started = newSession(user, input.deviceName, tenant, deps.clock.now());
    const event = securityEvent(deps, 'login_succeeded', origin, {
      sessionId: started.session.sessionId,
      deviceName: input.deviceName ?? null,
    });
    const completion = completeSignInWrites(
      deps,
      context.subject,
      context.source,
      secondFactor !== undefined,
    );
    const [committed, tokens] = await Promise.all([
      deps.sessions.createTogether(started.session, [
        deps.tenantPolicy.unchangedItem(tenant),
        deps.events.recordItem(user.userId, event),
        ...completion.items,
      ]),
      // Signing needs no round trip of DynamoDB (a cold start's key load overlaps the transaction).
      sessionTokens(deps, user, started, tenant),
    ]);
    if (committed) {
      noteEvent(user.userId, event);
      await Promise.all([completion.afterCommit(), rehashed]);
      return tokens;
    }
    if (round >= MAX_COMMIT_ROUNDS) throw new Error('The tenant policy kept changing during a sign-in.');
    // An incident moved a cut-off while this sign-in ran: nothing was written; decide again on the policy as it is.
    tenant = await deps.tenantPolicy.get();
    if (mustResetPassword(user, tenant)) {
      await rehashed;
      return refuseForReset();
    }
  }
}
