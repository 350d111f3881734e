import { createHash } from 'node:crypto';
import type { BreachedPasswordChecker } from '../ports/breached-password-checker.js';

export interface HibpOptions {
  /** Base URL of a server speaking the Pwned Passwords range API. */
  readonly baseUrl: string;
  /** The whole lookup is abandoned after this long; the password is then accepted (fail open). */
  readonly timeoutMs: number;
  readonly onUnavailable: (reason: string) => void;
  readonly fetch?: typeof fetch;
  /** How long a range answer is reused. @default 300000 (5 minutes) */
  readonly cacheTtlMs?: number;
  /** Most range prefixes kept (least recently used go first). @default 10000 */
  readonly cacheMaxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface CachedRange {
  readonly expiresAt: number;
  /** Upper-case SHA-1 suffix -> breach count; undefined when the lookup failed (never cached). */
  readonly suffixes: Promise<ReadonlyMap<string, number> | undefined>;
}

/**
 * k-anonymity lookup against Have I Been Pwned: only the first 5 hex characters of the password's
 * SHA-1 leave the process; the suffix is matched locally. Padding is requested so the response size
 * does not leak which prefix was asked for. Fails open: an outage must not block sign-ups, resets or
 * sign-ins (the local blocklist still applies).
 *
 * Range answers are kept briefly in a bounded LRU, and concurrent lookups of one prefix share one request:
 * a credential-stuffing wave tries the same few million passwords against many accounts, and should not
 * turn into one outbound call per attempt. A prefix answer holds ~800 suffixes of public data, so caching
 * it reveals nothing about our users.
 */
export function createHibpChecker(options: HibpOptions): BreachedPasswordChecker {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');
  const ttlMs = options.cacheTtlMs ?? 300_000;
  const maxEntries = options.cacheMaxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedRange>();

  const fetchRange = async (prefix: string): Promise<ReadonlyMap<string, number> | undefined> => {
    try {
      const response = await doFetch(`${base}/range/${prefix}`, {
        headers: { 'add-padding': 'true', 'user-agent': 'account-shield' },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      if (!response.ok) {
        options.onUnavailable(`range API answered ${response.status}`);
        return undefined;
      }
      const suffixes = new Map<string, number>();
      for (const line of (await response.text()).split('\n')) {
        const [candidate, count] = line.trim().split(':');
        if (candidate) suffixes.set(candidate.toUpperCase(), Number(count));
      }
      return suffixes;
    } catch (error) {
      options.onUnavailable(
        (error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message,
      );
      return undefined;
    }
  };

  const lookup = (prefix: string): Promise<ReadonlyMap<string, number> | undefined> => {
    const at = now();
    const cached = cache.get(prefix);
    if (cached && cached.expiresAt > at) {
      // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
      cache.delete(prefix);
      cache.set(prefix, cached);
      return cached.suffixes;
    }
    const entry: CachedRange = { expiresAt: at + ttlMs, suffixes: fetchRange(prefix) };
    cache.delete(prefix);
    cache.set(prefix, entry);
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    // Failures are not cached: the next attempt asks again.
    void entry.suffixes.then((suffixes) => {
      if (suffixes === undefined && cache.get(prefix) === entry) cache.delete(prefix);
    });
    return entry.suffixes;
  };

  return {
    async isBreached(password) {
      const digest = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
      const suffixes = await lookup(digest.slice(0, 5));
      return (suffixes?.get(digest.slice(5)) ?? 0) > 0;
    },
  };
}
