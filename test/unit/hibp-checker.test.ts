import { createHash } from 'node:crypto';
import { createHibpChecker } from '../../shared/aws/hibp-breached-password-checker.js';
import { startRangeServer } from '../support/hibp-range-server.js';

describe('breached-password check (HIBP range API)', () => {
  it('finds a breached password while sending only the 5-character SHA-1 prefix', async () => {
    const server = await startRangeServer(['correct horse battery staple']);
    const unavailable: string[] = [];
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 2000,
      onUnavailable: (r) => unavailable.push(r),
    });
    try {
      expect(await checker.isBreached('correct horse battery staple')).toBe(true);
      expect(await checker.isBreached('a never-breached passphrase 7Qz')).toBe(false);
      const digest = createHash('sha1').update('correct horse battery staple').digest('hex').toUpperCase();
      expect(server.requests[0]?.url).toBe(`/range/${digest.slice(0, 5)}`);
      expect(server.requests.every((r) => !r.url.includes(digest.slice(5)))).toBe(true);
      expect(server.requests[0]?.padding).toBe('true');
      expect(unavailable).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('fails open with a log line when the service is too slow', async () => {
    const server = await startRangeServer(['hunter2hunter2'], { delayMs: 500 });
    const unavailable: string[] = [];
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 50,
      onUnavailable: (r) => unavailable.push(r),
    });
    try {
      expect(await checker.isBreached('hunter2hunter2')).toBe(false);
      expect(unavailable).toEqual(['timed out']);
    } finally {
      await server.close();
    }
  });

  it('fails open when the service answers with an error', async () => {
    const server = await startRangeServer([], { status: 503 });
    const unavailable: string[] = [];
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 2000,
      onUnavailable: (r) => unavailable.push(r),
    });
    try {
      expect(await checker.isBreached('whatever-password')).toBe(false);
      expect(unavailable).toEqual(['range API answered 503']);
    } finally {
      await server.close();
    }
  });

  it('asks once per prefix within the cache time, however many sign-ins try that password', async () => {
    const server = await startRangeServer(['Summer2024!']);
    let nowMs = 1_000_000;
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 2000,
      onUnavailable: () => undefined,
      cacheTtlMs: 300_000,
      now: () => nowMs,
    });
    try {
      // A stuffing wave: many concurrent and successive checks of one password.
      const answers = await Promise.all(Array.from({ length: 20 }, () => checker.isBreached('Summer2024!')));
      expect(answers.every(Boolean)).toBe(true);
      expect(await checker.isBreached('Summer2024!')).toBe(true);
      expect(server.requests).toHaveLength(1);
      nowMs += 300_001;
      expect(await checker.isBreached('Summer2024!')).toBe(true);
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('keeps at most cacheMaxEntries prefixes and does not cache failures', async () => {
    const server = await startRangeServer([]);
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 2000,
      onUnavailable: () => undefined,
      cacheMaxEntries: 2,
    });
    try {
      // Three passwords with distinct SHA-1 prefixes: the first one is evicted by the third.
      for (const password of ['alpha-one', 'bravo-two', 'charlie-three', 'alpha-one']) {
        await checker.isBreached(password);
      }
      expect(server.requests).toHaveLength(4);
      await checker.isBreached('charlie-three');
      expect(server.requests).toHaveLength(4);
    } finally {
      await server.close();
    }
    const failing = await startRangeServer([], { status: 503 });
    const flaky = createHibpChecker({
      baseUrl: failing.url,
      timeoutMs: 2000,
      onUnavailable: () => undefined,
    });
    try {
      await flaky.isBreached('whatever-password');
      await flaky.isBreached('whatever-password');
      expect(failing.requests).toHaveLength(2);
    } finally {
      await failing.close();
    }
  });
});
