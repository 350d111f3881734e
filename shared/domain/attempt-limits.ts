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

/**
 * The source a guess is counted under: an IPv4 address as is, an IPv6 address by its /64 network (one
 * subscriber usually holds a whole /64, so counting single addresses would give them 2^64 fresh sources).
 */
export function sourceKey(ip: string | null): string {
  if (ip === null || ip === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
