import { createHash } from 'node:crypto';
import { createHibpChecker, type HibpOptions } from '../../shared/aws/hibp-breached-password-checker.js';
import type { BreachedPasswordChecker } from '../../shared/ports/breached-password-checker.js';
import { type RangeServer, startRangeServer } from '../support/hibp-range-server.js';

/**
 * Runs `check` against a checker on `server` (a 2 s timeout unless `options` say otherwise), with the reasons
 * the checker gave for failing open; the server is closed afterwards, whatever happens.
 */
async function withChecker(
  server: RangeServer,
  options: Partial<HibpOptions>,
  check: (checker: BreachedPasswordChecker, unavailable: string[]) => Promise<void>,
): Promise<void> {
  const unavailable: string[] = [];
  const checker = createHibpChecker({
    baseUrl: server.url,
    timeoutMs: 2000,
    onUnavailable: (reason) => unavailable.push(reason),
    ...options,
  });
  try {
    await check(checker, unavailable);
  } finally {
    await server.close();
  }
}

describe('breached-password check (HIBP range API)', () => {
  it('finds a breached password while sending only the 5-character SHA-1 prefix', async () => {
    const server = await startRangeServer(['correct horse battery staple']);
    await withChecker(server, {}, async (checker, unavailable) => {
      expect(await checker.isBreached('correct horse battery staple')).toBe(true);
      expect(await checker.isBreached('a never-breached passphrase 7Qz')).toBe(false);
      const digest = createHash('sha1').update('correct horse battery staple').digest('hex').toUpperCase();
      expect(server.requests[0]?.url).toBe(`/range/${digest.slice(0, 5)}`);
      expect(server.requests.every((r) => !r.url.includes(digest.slice(5)))).toBe(true);
      expect(server.requests[0]?.padding).toBe('true');
      expect(unavailable).toEqual([]);
    });
  });

  it.each([
    {
      when: 'with a log line when the service is too slow',
      breached: ['hunter2hunter2'],
      server: { delayMs: 500 },
      timeoutMs: 50,
      password: 'hunter2hunter2',
      reason: 'timed out',
    },
    {
      when: 'when the service answers with an error',
      breached: [],
      server: { status: 503 },
      timeoutMs: 2000,
      password: 'whatever-password',
      reason: 'range API answered 503',
    },
  ])('fails open $when', async ({ breached, server, timeoutMs, password, reason }) => {
    await withChecker(
      await startRangeServer(breached, server),
      { timeoutMs },
      async (checker, unavailable) => {
        expect(await checker.isBreached(password)).toBe(false);
        expect(unavailable).toEqual([reason]);
      },
    );
  });

  it('asks once per prefix within the cache time, however many sign-ins try that password', async () => {
    const server = await startRangeServer(['Summer2024!']);
    let nowMs = 1_000_000;
    await withChecker(server, { cacheTtlMs: 300_000, now: () => nowMs }, async (checker) => {
      // A stuffing wave: many concurrent and successive checks of one password.
      const answers = await Promise.all(Array.from({ length: 20 }, () => checker.isBreached('Summer2024!')));
      expect(answers.every(Boolean)).toBe(true);
      expect(await checker.isBreached('Summer2024!')).toBe(true);
      expect(server.requests).toHaveLength(1);
      nowMs += 300_001;
      expect(await checker.isBreached('Summer2024!')).toBe(true);
      expect(server.requests).toHaveLength(2);
    });
  });

  it('keeps at most cacheMaxEntries prefixes and does not cache failures', async () => {
    const server = await startRangeServer([]);
    await withChecker(server, { cacheMaxEntries: 2 }, async (checker) => {
      // Three passwords with distinct SHA-1 prefixes: the first one is evicted by the third.
      for (const password of ['alpha-one', 'bravo-two', 'charlie-three', 'alpha-one']) {
        await checker.isBreached(password);
      }
      expect(server.requests).toHaveLength(4);
      await checker.isBreached('charlie-three');
      expect(server.requests).toHaveLength(4);
    });
    const failing = await startRangeServer([], { status: 503 });
    await withChecker(failing, {}, async (flaky) => {
      await flaky.isBreached('whatever-password');
      await flaky.isBreached('whatever-password');
      expect(failing.requests).toHaveLength(2);
    });
  });
});
