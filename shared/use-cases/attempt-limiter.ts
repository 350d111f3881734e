import { fixedWindow, sourceKey } from '../domain/attempt-limits.js';
import { TooManyRequestsError } from '../errors.js';
import type { CounterRef } from '../ports/attempt-counters.js';
import type { TransactItem } from '../ports/transaction.js';
import type { Deps } from './deps.js';

/**
 * The one attempt limiter every check of a secret goes through (docs/adr/0006-attempt-limiter.md).
 * An attempt is reserved by conditional writes BEFORE argon2 or the code check runs, so however many
 * requests race, no more checks run than the limits allow; a right secret gives its attempt back.
 */
export type SecretKind = 'password' | 'code';

export interface AttemptScope {
  readonly kind: SecretKind;
  /** Whose secret (see `userSubject`, or the hash of an unknown login identifier). */
  readonly subject: string;
  /** Where the guess comes from: the source address, or `link:<hash>` for a reset link. */
  readonly source: string;
  /**
   * Whether the account-wide progressive delay applies. Reset links skip it: each link was mailed to the
   * owner and reset mail is limited, so the per-link limit already bounds guesses, and an attacker's
   * failures elsewhere must not slow the owner's reset.
   */
  readonly accountGate: boolean;
  /** The per-source window when it is not the limiter's (a reset link: its whole life at once). */
  readonly perSourceWindowSeconds?: number;
}

export interface AttemptReservation {
  /** The secret was right: the attempt is given back. */
  succeeded(): Promise<void>;
}

type LimiterDeps = Pick<Deps, 'attempts' | 'clock' | 'config'>;

export const userSubject = (userId: string) => `user:${userId}`;
/** Where a guess comes from, for counting (IPv6 per /64: see sourceKey). */
export const sourceOf = (ip: string | null) => sourceKey(ip);

function perSourceRef(
  deps: LimiterDeps,
  scope: Pick<AttemptScope, 'kind' | 'subject' | 'source' | 'perSourceWindowSeconds'>,
  nowMs: number,
) {
  const window = fixedWindow(nowMs, scope.perSourceWindowSeconds ?? deps.config.attempts.windowSeconds);
  const ref: CounterRef = {
    subject: scope.subject,
    counter: `${scope.kind}@${scope.source}`,
    windowStart: window.start,
    expiresAt: window.end + 60,
  };
  return { ref, retryAfterSeconds: window.end - nowMs / 1000 };
}

/**
 * Attempts taken one counter group at a time, so a caller can take the ones that need no account (the source
 * across all accounts) beside its own reads; a refusal gives back everything taken so far and throws 429.
 */
export interface StagedReservation extends AttemptReservation {
  /** Password spraying: this source's attempts across all accounts. Needs no account, so it can run first. */
  takeAcrossAccounts(sprayingSource: string): Promise<void>;
  /** The account's own counters: per source, then (for sources it never signed in from) the account-wide gate. */
  takeForSubject(scope: Omit<AttemptScope, 'kind'>): Promise<void>;
}

export function stageAttempt(deps: LimiterDeps, kind: SecretKind): StagedReservation {
  const limits = deps.config.attempts;
  const nowMs = deps.clock.now().getTime();
  const taken: CounterRef[] = [];
  // Giving back is best effort: if it fails the attempt stays counted (fails closed), and the owner's
  // request, whose secret was right, must not fail because of it.
  const giveBackAll = () =>
    Promise.all(taken.splice(0).map((ref) => deps.attempts.giveBack(ref).catch(() => undefined))).then(
      () => undefined,
    );
  const refuse = async (retryAfterSeconds: number): Promise<never> => {
    await giveBackAll();
    throw new TooManyRequestsError(
      retryAfterSeconds,
      'Too many attempts. Try again later, or reset your password.',
    );
  };

  return {
    async takeAcrossAccounts(sprayingSource) {
      const spraying = perSourceRef(deps, { kind, subject: `ip:${sprayingSource}`, source: 'any' }, nowMs);
      if (!(await deps.attempts.takeBelow(spraying.ref, limits.perIp)))
        return refuse(spraying.retryAfterSeconds);
      taken.push(spraying.ref);
    },
    async takeForSubject(scope) {
      const perSource = perSourceRef(deps, { ...scope, kind }, nowMs);
      const [perSourceTaken, known] = await Promise.all([
        deps.attempts.takeBelow(perSource.ref, limits.perAccountAndSource),
        scope.accountGate ? deps.attempts.isKnownSource(scope.subject, scope.source, nowMs) : true,
      ]);
      if (!perSourceTaken) return refuse(perSource.retryAfterSeconds);
      taken.push(perSource.ref);

      // A source the owner fully signed in from keeps working while others push the account into delay.
      if (!known) {
        const window = fixedWindow(nowMs, limits.accountWindowSeconds);
        const accountRef: CounterRef = {
          subject: scope.subject,
          counter: kind,
          windowStart: window.start,
          expiresAt: window.end + Math.ceil(limits.accountDelay.maxMs / 1000) + 60,
        };
        const gate = await deps.attempts.takeThroughGate(accountRef, nowMs, limits.accountDelay);
        if (!gate.taken) return refuse((gate.retryAtMs - nowMs) / 1000);
        taken.push(accountRef);
      }
    },
    succeeded: giveBackAll,
  };
}

/** Reserves one check of a secret, or throws 429 with the time after which one may be made again. */
export async function reserveAttempt(deps: LimiterDeps, scope: AttemptScope): Promise<AttemptReservation> {
  const staged = stageAttempt(deps, scope.kind);
  await staged.takeForSubject(scope);
  return { succeeded: staged.succeeded };
}

/**
 * After a complete sign-in (every factor): this source becomes known to the account and its own counters
 * start again. With a second factor the owner has proved more than any guesser can, so every counter of
 * the account is cleared; a password alone only clears this source's (the ADR explains why).
 */
export async function recordCompleteSignIn(
  deps: LimiterDeps,
  subject: string,
  source: string,
  withSecondFactor: boolean,
): Promise<void> {
  const nowMs = deps.clock.now().getTime();
  await Promise.all([
    deps.attempts.rememberSource(
      subject,
      source,
      Math.floor(nowMs / 1000) + deps.config.attempts.knownSourceSeconds,
    ),
    withSecondFactor
      ? deps.attempts.clear(subject)
      : deps.attempts.reset(perSourceRef(deps, { kind: 'password', subject, source }, nowMs).ref),
  ]);
}

/**
 * `recordCompleteSignIn` as transaction items, for a sign-in that writes them with its session (one round trip,
 * and none of them lands if the session does not). With a second factor the account's counters are cleared
 * after the commit (`afterCommit`): clearing is a query plus deletes, which no transaction can hold.
 */
export function completeSignInWrites(
  deps: LimiterDeps,
  subject: string,
  source: string,
  withSecondFactor: boolean,
): { readonly items: TransactItem[]; afterCommit(): Promise<void> } {
  const nowMs = deps.clock.now().getTime();
  const remember = deps.attempts.rememberSourceItem(
    subject,
    source,
    Math.floor(nowMs / 1000) + deps.config.attempts.knownSourceSeconds,
  );
  if (withSecondFactor) return { items: [remember], afterCommit: () => deps.attempts.clear(subject) };
  return {
    items: [
      remember,
      deps.attempts.resetItem(perSourceRef(deps, { kind: 'password', subject, source }, nowMs).ref),
    ],
    afterCommit: async () => undefined,
  };
}

/** A completed password reset: whatever others did to this account's counters is forgotten. */
export async function clearAttempts(deps: Pick<Deps, 'attempts'>, subject: string): Promise<void> {
  await deps.attempts.clear(subject);
}
