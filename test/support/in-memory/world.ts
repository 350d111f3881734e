import { createHash } from 'node:crypto';
import { type Config, loadConfig } from '../../../shared/config.js';
import { createAccessTokens } from '../../../shared/crypto/access-tokens.js';
import { importSigningKeys } from '../../../shared/crypto/key-store.js';
import type { PasswordHasher } from '../../../shared/crypto/password-hasher.js';
import { firstSigningKeySet, generateSigningKey } from '../../../shared/crypto/signing-key-set.js';
import type { BreachedPasswordChecker } from '../../../shared/ports/breached-password-checker.js';
import type { RevocationStateReader } from '../../../shared/ports/revocation-state.js';
import type { SecretBox } from '../../../shared/ports/secret-box.js';
import type { Deps } from '../../../shared/use-cases/deps.js';
import { unitTestEnv } from '../unit-config.js';
import { InMemoryAttemptCounters } from './attempt-counters.js';
import {
  InMemoryEvents,
  InMemoryNotifications,
  InMemoryResetTokens,
  InMemoryTenantPolicy,
  InMemoryThrottles,
} from './records.js';
import { InMemorySessions } from './sessions.js';
import { InMemoryUsers } from './users.js';

/** What the sign-in, refresh, two-factor and reset use-cases take, all in memory. */
export type AuthDeps = Pick<
  Deps,
  | 'config'
  | 'clock'
  | 'users'
  | 'sessions'
  | 'tenantPolicy'
  | 'revocation'
  | 'events'
  | 'throttles'
  | 'attempts'
  | 'hasher'
  | 'accessTokens'
  | 'notifications'
  | 'secretBox'
  | 'resetTokens'
  | 'passwordBlocklist'
  | 'breachedPasswords'
>;

const digest = (password: string) => createHash('sha256').update(password).digest('hex');

/**
 * A fast stand-in for argon2 with the port's contract: `fast$<sha256>` hashes, `old$...` ones (the weaker parameters
 * of an earlier policy) verify too but need a rehash. Counts every check, real or dummy.
 */
export class CountingHasher implements PasswordHasher {
  checks = 0;
  async hash(password: string) {
    return `fast$${digest(password)}`;
  }
  async verify(storedHash: string, password: string) {
    this.checks += 1;
    return storedHash.slice(storedHash.indexOf('$') + 1) === digest(password);
  }
  async verifyDummy() {
    this.checks += 1;
  }
  needsRehash(storedHash: string) {
    return !storedHash.startsWith('fast$');
  }
}

/** Seals by tagging with the binding (the binding rule is what the use-cases rely on, not the cipher). */
const memorySecretBox: SecretBox = {
  async seal(plaintext, boundTo) {
    return `sealed:${Buffer.from(boundTo).toString('base64url')}:${Buffer.from(plaintext).toString('base64url')}`;
  },
  async open(ciphertext, boundTo) {
    const [, binding, body] = ciphertext.split(':');
    if (binding !== Buffer.from(boundTo).toString('base64url')) throw new Error('Sealed for someone else');
    return Buffer.from(body ?? '', 'base64url').toString();
  },
};

let signingKeys: ReturnType<typeof importSigningKeys> | undefined;

export interface AuthWorldOptions {
  readonly env?: Record<string, string>;
  readonly config?: (config: Config) => Config;
  readonly startMs?: number;
  readonly breachedPasswords?: BreachedPasswordChecker;
}

/**
 * The in-memory adapters wired together with a settable clock: the same use-cases as in Lambda, without
 * DynamoDB, SQS or argon2. Revocation state is read without a cache (the cache has its own tests).
 */
export async function createAuthWorld(options: AuthWorldOptions = {}) {
  let nowMs = options.startMs ?? Date.parse('2026-12-03T10:00:00.000Z');
  const clock = { now: () => new Date(nowMs) };
  const base = loadConfig({ ...unitTestEnv, ...options.env });
  const config = options.config ? options.config(base) : base;
  signingKeys ??= generateSigningKey('ES256', new Date(nowMs)).then((jwk) =>
    importSigningKeys(firstSigningKeySet(jwk, new Date(0))),
  );
  const keys = await signingKeys;
  const users = new InMemoryUsers();
  const sessions = new InMemorySessions();
  const tenantPolicy = new InMemoryTenantPolicy();
  const forgotten: string[] = [];
  const revocation: RevocationStateReader = {
    async read(userId, sessionId) {
      const user = users.users.get(userId);
      const session = sessions.sessions.get(`${userId}|${sessionId}`);
      return {
        tokenVersion: user?.tokenVersion,
        sessionExpiresAt: session?.expiresAt,
        sessionCreatedAtMs: session?.createdAtMs,
        tenant: { ...tenantPolicy.policy },
      };
    },
    readTenant: async () => ({ ...tenantPolicy.policy }),
    forget: (userId) => void forgotten.push(userId),
  };
  const hasher = new CountingHasher();
  const attempts = new InMemoryAttemptCounters();
  const events = new InMemoryEvents();
  const notifications = new InMemoryNotifications();
  const resetTokens = new InMemoryResetTokens();
  const throttles = new InMemoryThrottles();
  const deps: AuthDeps = {
    config,
    clock,
    users,
    sessions,
    tenantPolicy,
    revocation,
    events,
    throttles,
    attempts,
    hasher,
    accessTokens: createAccessTokens({ load: async () => keys }, config.jwt, () => nowMs),
    notifications,
    secretBox: memorySecretBox,
    resetTokens,
    passwordBlocklist: new Set(['password123456']),
    breachedPasswords: options.breachedPasswords,
  };
  return {
    deps,
    users,
    sessions,
    tenantPolicy,
    events,
    attempts,
    hasher,
    notifications,
    resetTokens,
    forgotten,
    now: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
    setNow: (ms: number) => {
      nowMs = ms;
    },
  };
}

export type AuthWorld = Awaited<ReturnType<typeof createAuthWorld>>;
