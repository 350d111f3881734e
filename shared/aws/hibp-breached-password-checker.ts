import { createHash } from 'node:crypto';
import type { BreachedPasswordChecker } from '../ports/breached-password-checker.js';

export interface HibpOptions {
  /** Base URL of a server speaking the Pwned Passwords range API. */
  readonly baseUrl: string;
  /** The whole lookup is abandoned after this long; the password is then accepted (fail open). */
  readonly timeoutMs: number;
  readonly onUnavailable: (reason: string) => void;
  readonly fetch?: typeof fetch;
}

/**
 * k-anonymity lookup against Have I Been Pwned: only the first 5 hex characters of the password's
 * SHA-1 leave the process; the suffix is matched locally. Padding is requested so the response size
 * does not leak which prefix was asked for. Fails open: an outage must not block sign-ups and resets
 * (the local blocklist still applies).
 */
export function createHibpChecker(options: HibpOptions): BreachedPasswordChecker {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    async isBreached(password) {
      const digest = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
      const prefix = digest.slice(0, 5);
      const suffix = digest.slice(5);
      try {
        const response = await doFetch(`${base}/range/${prefix}`, {
          headers: { 'add-padding': 'true', 'user-agent': 'account-shield' },
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        if (!response.ok) {
          options.onUnavailable(`range API answered ${response.status}`);
          return false;
        }
        const body = await response.text();
        for (const line of body.split('\n')) {
          const [candidate, count] = line.trim().split(':');
          if (candidate?.toUpperCase() === suffix) return Number(count) > 0;
        }
        return false;
      } catch (error) {
        options.onUnavailable(
          (error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message,
        );
        return false;
      }
    },
  };
}
