import { loadConfig } from '../../shared/config.js';
import { fixedWindow, progressiveDelayMs, sourceKey } from '../../shared/domain/attempt-limits.js';
import { TooManyRequestsError } from '../../shared/errors.js';
import type { Clock } from '../../shared/ports/clock.js';
import {
  type AttemptScope,
  clearAttempts,
  recordCompleteSignIn,
  reserveAttempt,
} from '../../shared/use-cases/attempt-limiter.js';
import { login } from '../../shared/use-cases/login.js';
import { InMemoryAttemptCounters } from '../support/in-memory/attempt-counters.js';
import { createAuthWorld } from '../support/in-memory/world.js';
import { unitTestEnv } from '../support/unit-config.js';

const START = Date.parse('2026-12-03T10:00:00.000Z');

function setup() {
  let nowMs = START;
  const clock: Clock = { now: () => new Date(nowMs) };
  const base = loadConfig({ ...unitTestEnv });
  const config = {
    ...base,
    attempts: {
      ...base.attempts,
      perAccountAndSource: 5,
      windowSeconds: 900,
      accountWindowSeconds: 86_400,
      accountDelay: { freeChecks: 10, baseMs: 1000, maxMs: 60_000 },
    },
  };
  const attempts = new InMemoryAttemptCounters();
  return {
    deps: { attempts, clock, config },
    attempts,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

const scope = (source: string, overrides: Partial<AttemptScope> = {}): AttemptScope => ({
  kind: 'password',
  subject: 'user:u1',
  source,
  accountGate: true,
  ...overrides,
});

async function retryAfter(promise: Promise<unknown>): Promise<number> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TooManyRequestsError);
  return Number((error as TooManyRequestsError).headers['retry-after']);
}

describe('attempt limiter rules', () => {
  it('adds no delay within the free allowance, then doubles it up to the ceiling', () => {
    const policy = { freeChecks: 10, baseMs: 1000, maxMs: 60_000 };
    expect([1, 9].map((n) => progressiveDelayMs(n, policy))).toEqual([0, 0]);
    expect([10, 11, 12, 13, 15, 16, 100].map((n) => progressiveDelayMs(n, policy))).toEqual([
      1000, 2000, 4000, 8000, 32_000, 60_000, 60_000,
    ]);
  });

  it('counts IPv4 sources by address and IPv6 sources by /64', () => {
    expect(sourceKey('203.0.113.9')).toBe('203.0.113.9');
    expect(sourceKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(sourceKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(sourceKey('2001:0db8:0000:0001:ffff:ffff:ffff:ffff')).toBe('2001:db8:0:1::/64');
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey(null)).toBe('unknown');
  });

  it('places an instant in its fixed window', () => {
    expect(fixedWindow(START + 1234, 900)).toEqual({ start: START / 1000, end: START / 1000 + 900 });
    expect(fixedWindow(START + 900_000, 900).start).toBe(START / 1000 + 900);
  });
});

describe('reserveAttempt', () => {
  it('lets exactly the per-source limit of 40 concurrent attempts through', async () => {
    const { deps } = setup();
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => reserveAttempt(deps, scope('a'))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(35);
    expect(refused[0]!.reason).toBeInstanceOf(TooManyRequestsError);
    expect(refused[0]!.reason.headers['retry-after']).toBe('900');
  });

  it('gives a right secret its attempt back, so the owner is never counted', async () => {
    const { deps } = setup();
    for (let i = 0; i < 30; i += 1) await (await reserveAttempt(deps, scope('a'))).succeeded();
    await expect(reserveAttempt(deps, scope('a'))).resolves.toBeDefined();
  });

  it('opens a source again in the next window', async () => {
    const { deps, advance } = setup();
    for (let i = 0; i < 5; i += 1) await reserveAttempt(deps, scope('a'));
    advance(300_000);
    expect(await retryAfter(reserveAttempt(deps, scope('a')))).toBe(600);
    advance(600_000);
    await expect(reserveAttempt(deps, scope('a'))).resolves.toBeDefined();
  });

  it('keeps other sources working while one source is throttled', async () => {
    const { deps } = setup();
    for (let i = 0; i < 5; i += 1) await reserveAttempt(deps, scope('attacker'));
    await expect(reserveAttempt(deps, scope('attacker'))).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(reserveAttempt(deps, scope('owner'))).resolves.toBeDefined();
  });

  it('delays every unknown source progressively once the account-wide allowance is spent', async () => {
    const { deps, advance } = setup();
    for (let i = 0; i < 10; i += 1) await reserveAttempt(deps, scope(`s${i}`));
    expect(await retryAfter(reserveAttempt(deps, scope('next')))).toBe(1);
    advance(1000);
    await reserveAttempt(deps, scope('next'));
    expect(await retryAfter(reserveAttempt(deps, scope('other')))).toBe(2);
    advance(2000);
    await reserveAttempt(deps, scope('other'));
    expect(await retryAfter(reserveAttempt(deps, scope('third')))).toBe(4);
    // The ceiling: however long the attack, one guess per minute at most.
    for (let i = 0; i < 10; i += 1) {
      advance(60_000);
      await reserveAttempt(deps, scope(`late${i}`));
    }
    expect(await retryAfter(reserveAttempt(deps, scope('late-next')))).toBe(60);
  });

  it('lets a source the owner fully signed in from past the account-wide delay', async () => {
    const { deps } = setup();
    await recordCompleteSignIn(deps, 'user:u1', 'home', false);
    for (let i = 0; i < 12; i += 1) await reserveAttempt(deps, scope(`s${i}`)).catch(() => undefined);
    await expect(reserveAttempt(deps, scope('new-place'))).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(reserveAttempt(deps, scope('home'))).resolves.toBeDefined();
  });

  it('forgets a remembered source after its lifetime', async () => {
    const { deps, advance } = setup();
    await recordCompleteSignIn(deps, 'user:u1', 'home', false);
    advance(31 * 86_400_000);
    for (let i = 0; i < 10; i += 1) await reserveAttempt(deps, scope(`s${i}`));
    await expect(reserveAttempt(deps, scope('home'))).rejects.toBeInstanceOf(TooManyRequestsError);
  });

  it('clears every counter of the account on a reset or a sign-in with the second factor', async () => {
    const { deps } = setup();
    for (let i = 0; i < 10; i += 1) await reserveAttempt(deps, scope(`s${i}`, { kind: 'code' }));
    for (let i = 0; i < 5; i += 1)
      await reserveAttempt(deps, scope('s0', { kind: 'code' })).catch(() => undefined);
    await expect(reserveAttempt(deps, scope('new', { kind: 'code' }))).rejects.toBeInstanceOf(
      TooManyRequestsError,
    );
    await clearAttempts(deps, 'user:u1');
    await expect(reserveAttempt(deps, scope('new', { kind: 'code' }))).resolves.toBeDefined();

    // With the one above, the allowance is spent again: the gate is shut.
    for (let i = 0; i < 9; i += 1) await reserveAttempt(deps, scope(`t${i}`, { kind: 'code' }));
    await expect(reserveAttempt(deps, scope('elsewhere', { kind: 'code' }))).rejects.toBeInstanceOf(
      TooManyRequestsError,
    );
    await recordCompleteSignIn(deps, 'user:u1', 'phone', true);
    await expect(reserveAttempt(deps, scope('elsewhere', { kind: 'code' }))).resolves.toBeDefined();
  });

  it('keeps password and code counters apart, and reset links out of the account-wide delay', async () => {
    const { deps } = setup();
    for (let i = 0; i < 10; i += 1) await reserveAttempt(deps, scope(`s${i}`, { kind: 'code' }));
    await expect(reserveAttempt(deps, scope('new', { kind: 'code' }))).rejects.toBeInstanceOf(
      TooManyRequestsError,
    );
    await expect(reserveAttempt(deps, scope('new'))).resolves.toBeDefined();
    const link = scope('link:abc', { kind: 'code', accountGate: false });
    for (let i = 0; i < 5; i += 1) await reserveAttempt(deps, link);
    await expect(reserveAttempt(deps, link)).rejects.toBeInstanceOf(TooManyRequestsError);
  });

  it('gives back what it took when a later counter refuses', async () => {
    const { deps, attempts } = setup();
    for (let i = 0; i < 10; i += 1) await reserveAttempt(deps, scope(`s${i}`));
    await expect(reserveAttempt(deps, scope('victim-source'))).rejects.toBeInstanceOf(TooManyRequestsError);
    const perSource = [...attempts.items.entries()].find(([key]) => key.includes('password@victim-source'));
    expect(perSource?.[1].count).toBe(0);
  });
});

describe('login through the limiter', () => {
  it('runs argon2 at most the per-source limit for 40 parallel wrong passwords', async () => {
    const { deps: limiter } = setup();
    const world = await createAuthWorld({ config: () => limiter.config });
    await world.users.create({
      userId: 'u1',
      email: 'a@example.test',
      authMethod: 'password',
      passwordHash: await world.hasher.hash('the-right-password'),
      tokenVersion: 0,
      mustResetPassword: false,
      createdAt: new Date(START).toISOString(),
      updatedAt: new Date(START).toISOString(),
    });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () =>
        login(
          { ...world.deps, clock: limiter.clock },
          { login: 'a@example.test', password: 'wrong-password' },
          { ip: '203.0.113.9', userAgent: null },
        ),
      ),
    );
    expect(world.hasher.checks).toBe(5);
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'));
    expect(codes.filter((c) => c === 'invalid_credentials')).toHaveLength(5);
    expect(codes.filter((c) => c === 'too_many_requests')).toHaveLength(35);
  });
});
