import type { Config } from '../config.js';
import { createArgon2Hasher, type PasswordHasher } from '../crypto/password-hasher.js';
import { loadPasswordBlocklist } from '../domain/password-blocklist.js';

/** argon2, a native addon shipped installed (infra/workloads.ts `shipsArgon2`): only functions that hash passwords. */
export function argon2Hasher(config: Config): PasswordHasher {
  return createArgon2Hasher(config.argon2);
}

/** The ~49,000-entry list of common passwords (about 400 KiB of bundle): only functions that set passwords. */
export function passwordBlocklist(): ReadonlySet<string> {
  return loadPasswordBlocklist();
}
