import { hash, verify } from '@node-rs/argon2';
import { verifyStoredHash } from './imported-hashes.js';

/** `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, which isolated modules cannot read). */
const ARGON2ID = 2;

export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** Port through which use-cases hash and check passwords (tests pass a fast fake). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(storedHash: string, password: string): Promise<boolean>;
  /** Spends the same work as a real verify, so unknown users are not distinguishable by timing. */
  verifyDummy(password: string): Promise<void>;
  /** True when the stored hash was made with weaker parameters than the current policy. */
  needsRehash(storedHash: string): boolean;
}

const PHC_PARAMS = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

export function parseArgon2Params(storedHash: string): Argon2Params | undefined {
  const match = PHC_PARAMS.exec(storedHash);
  if (!match) return undefined;
  return { memoryCost: Number(match[1]), timeCost: Number(match[2]), parallelism: Number(match[3]) };
}

export function createArgon2Hasher(params: Argon2Params): PasswordHasher {
  const options = { algorithm: ARGON2ID, ...params } as const;
  // Computed once per cold start: the dummy hash has the current parameters, so a dummy verify
  // costs exactly what a real one does.
  let dummyHash: Promise<string> | undefined;
  const getDummyHash = () => {
    dummyHash ??= hash(`dummy-${Math.random()}`, options);
    return dummyHash;
  };
  return {
    hash: (password) => hash(password, options),
    verify: async (storedHash, password) => {
      if (storedHash.startsWith('$argon2id$')) {
        try {
          return await verify(storedHash, password);
        } catch {
          // A corrupt stored hash must read as a failed login, not as a server error.
          return false;
        }
      }
      // Imported hashes (bcrypt, scrypt, PBKDF2, argon2i/d, wrapped digests) until their first sign-in.
      const ok = await verifyStoredHash(storedHash, password);
      // A failure never costs less than a native one: bcrypt or PBKDF2 may be cheaper than our argon2id,
      // and a quick 401 would tell an attacker the account exists and was imported.
      if (!ok && !storedHash.startsWith('$as-wrap$'))
        await verify(await getDummyHash(), password).catch(() => false);
      return ok;
    },
    verifyDummy: async (password) => {
      await verify(await getDummyHash(), password).catch(() => false);
    },
    needsRehash: (storedHash) => {
      const stored = parseArgon2Params(storedHash);
      if (!stored) return true;
      return (
        stored.memoryCost < params.memoryCost ||
        stored.timeCost < params.timeCost ||
        stored.parallelism !== params.parallelism
      );
    },
  };
}
