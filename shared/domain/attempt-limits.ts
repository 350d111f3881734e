/**
 * The arithmetic of the attempt limiter (docs/adr/0006-attempt-limiter.md), kept free of I/O so it can be
 * checked on a fake clock.
 */

/** The fixed window `nowMs` falls in, in epoch seconds. */
export function fixedWindow(nowMs: number, windowSeconds: number): { start: number; end: number } {
  const start = Math.floor(nowMs / 1000 / windowSeconds) * windowSeconds;
  return { start, end: start + windowSeconds };
}

export interface ProgressiveDelay {
  /** Checks an account may take in its window before any delay applies. */
  readonly freeChecks: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * How long the account-wide gate stays shut after its `checks`-th check of the window: nothing while
 * under the free allowance, then base, 2 x base, 4 x base, ... up to the ceiling. Doubling makes a
 * distributed guesser pay for every extra guess while one honest typo costs the owner nothing.
 */
export function progressiveDelayMs(checks: number, policy: ProgressiveDelay): number {
  if (checks < policy.freeChecks) return 0;
  const doublings = Math.min(checks - policy.freeChecks, 40);
  return Math.min(policy.baseMs * 2 ** doublings, policy.maxMs);
}
