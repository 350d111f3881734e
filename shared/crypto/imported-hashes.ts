/**
 * Password hashes brought over from another system (see docs/adr/0009-imported-password-hashes.md).
 *
 * Slow formats (bcrypt, argon2, scrypt, PBKDF2) are kept as they are and verified natively until the first
 * correct sign-in re-hashes them. Fast digests (MD5, SHA-1, SHA-256, SHA-512, salted or not) are never
 * stored as they are: a leaked copy of our table would crack as fast as the original breach. They are
 * wrapped at import as argon2id(hex digest), so the stored value costs an attacker argon2id per guess.
 */
import { createHash, pbkdf2, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { verify as argon2Verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import type { FAST_DIGESTS } from '../domain/user-import.js';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

type FastDigestAlgorithm = (typeof FAST_DIGESTS)[number];

const DIGEST_HEX_LENGTH: Record<FastDigestAlgorithm, number> = {
  md5: 32,
  sha1: 40,
  sha256: 64,
  sha512: 128,
};

export interface FastDigestHash {
  readonly algorithm: FastDigestAlgorithm;
  readonly hash: string;
  readonly salt?: string;
  readonly saltPosition?: 'prefix' | 'suffix';
}

/** What an import row may carry: a modular-crypt string of a slow format, or a fast digest description. */
export type ImportedPasswordHash = string | FastDigestHash;

/** A hash the import cannot accept; the message names the problem, never the hash. */
export class UnsupportedHashError extends Error {
  override readonly name = 'UnsupportedHashError';
}

/**
 * Upper bounds on imported work factors. A sign-in verifies with the stored parameters, so an absurd
 * value (bcrypt cost 31, scrypt N=2^30) would let one import row pin a Lambda for minutes.
 */
export const IMPORT_LIMITS = {
  bcryptMaxCost: 14,
  scryptMaxMemoryBytes: 256 * 1024 * 1024,
  scryptMaxP: 16,
  pbkdf2MaxRounds: 5_000_000,
  argon2MaxMemoryKib: 256 * 1024,
  argon2MaxTimeCost: 16,
  argon2MaxParallelism: 16,
  maxSaltBytes: 1024,
  maxHashBytes: 512,
} as const;

const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const ARGON2 = /^\$argon2(id|i|d)\$v=(16|19)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const SCRYPT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/.]*)\$([A-Za-z0-9+/.]+)$/;
const PBKDF2 = /^\$pbkdf2(-sha256|-sha512)?\$(\d+)\$([A-Za-z0-9+/.]*)\$([A-Za-z0-9+/.]+)$/;
const WRAPPED =
  /^\$as-wrap\$(md5|sha1|sha256|sha512)\$(none|prefix|suffix)\$([A-Za-z0-9_-]*)(\$argon2id\$.+)$/;

/**
 * passlib's "adapted base64" uses `.` where standard base64 has `+`, and no padding; scrypt's PHC form
 * uses standard base64 without padding. Both decode the same way once `.` is mapped back.
 */
export function decodeAdaptedBase64(text: string): Buffer {
  return Buffer.from(text.replace(/\./g, '+'), 'base64');
}

export function encodeAdaptedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
}

export type SlowHashFormat = 'bcrypt' | 'argon2' | 'scrypt' | 'pbkdf2';

/** Checks a slow-format string (structure and work factors) without computing anything. */
export function checkSlowHash(hash: string): SlowHashFormat {
  let match = BCRYPT.exec(hash);
  if (match) {
    const cost = Number(match[1]);
    if (cost < 4 || cost > IMPORT_LIMITS.bcryptMaxCost) {
      throw new UnsupportedHashError(`bcrypt cost must be 4-${IMPORT_LIMITS.bcryptMaxCost}.`);
    }
    return 'bcrypt';
  }
  match = ARGON2.exec(hash);
  if (match) {
    const [m, t, p] = [Number(match[3]), Number(match[4]), Number(match[5])];
    if (m < 8 * p || m > IMPORT_LIMITS.argon2MaxMemoryKib) {
      throw new UnsupportedHashError(`argon2 memory must be 8*p-${IMPORT_LIMITS.argon2MaxMemoryKib} KiB.`);
    }
    if (t < 1 || t > IMPORT_LIMITS.argon2MaxTimeCost || p < 1 || p > IMPORT_LIMITS.argon2MaxParallelism) {
      throw new UnsupportedHashError('argon2 time cost or parallelism out of range.');
    }
    return 'argon2';
  }
  match = SCRYPT.exec(hash);
  if (match) {
    scryptParams(Number(match[1]), Number(match[2]), Number(match[3]));
    checkSaltAndHash(decodeAdaptedBase64(match[4] ?? ''), decodeAdaptedBase64(match[5] ?? ''));
    return 'scrypt';
  }
  match = PBKDF2.exec(hash);
  if (match) {
    const rounds = Number(match[2]);
    if (rounds < 1 || rounds > IMPORT_LIMITS.pbkdf2MaxRounds) {
      throw new UnsupportedHashError(`PBKDF2 rounds must be 1-${IMPORT_LIMITS.pbkdf2MaxRounds}.`);
    }
    checkSaltAndHash(decodeAdaptedBase64(match[3] ?? ''), decodeAdaptedBase64(match[4] ?? ''));
    return 'pbkdf2';
  }
  throw new UnsupportedHashError(
    'Unsupported passwordHash: expected bcrypt ($2a$/$2b$/$2y$), argon2 PHC, scrypt PHC or passlib PBKDF2, or a {algorithm, hash} digest.',
  );
}

function checkSaltAndHash(salt: Buffer, hash: Buffer): void {
  if (salt.length > IMPORT_LIMITS.maxSaltBytes) throw new UnsupportedHashError('The salt is too long.');
  if (hash.length < 16 || hash.length > IMPORT_LIMITS.maxHashBytes) {
    throw new UnsupportedHashError('The hash must be 16-512 bytes.');
  }
}

function scryptParams(ln: number, r: number, p: number) {
  if (ln < 1 || ln > 24 || r < 1 || p < 1 || p > IMPORT_LIMITS.scryptMaxP) {
    throw new UnsupportedHashError('scrypt parameters out of range.');
  }
  const N = 2 ** ln;
  const memory = 128 * N * r;
  if (memory > IMPORT_LIMITS.scryptMaxMemoryBytes) {
    throw new UnsupportedHashError('scrypt parameters need more than 256 MiB.');
  }
  // node:crypto refuses anything above maxmem; leave room for its own bookkeeping.
  return { N, r, p, maxmem: memory * 2 + 1024 * 1024 };
}

/** Checks a fast digest row and returns its digest as lower-case hex (what gets wrapped). */
export function checkFastDigest(input: FastDigestHash): string {
  const hex = input.hash.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length !== DIGEST_HEX_LENGTH[input.algorithm]) {
    throw new UnsupportedHashError(
      `A ${input.algorithm} hash is ${DIGEST_HEX_LENGTH[input.algorithm]} hex characters.`,
    );
  }
  if (input.salt !== undefined && Buffer.byteLength(input.salt, 'utf8') > IMPORT_LIMITS.maxSaltBytes) {
    throw new UnsupportedHashError('The salt is too long.');
  }
  return hex;
}

/**
 * The stored form of a wrapped digest: which digest and salt to apply to a candidate password, then the
 * argon2id PHC string of the digest's hex. The salt is base64url so it cannot contain the separator.
 */
export function formatWrappedHash(input: FastDigestHash, argon2idOfDigest: string): string {
  const position = input.salt === undefined || input.salt === '' ? 'none' : (input.saltPosition ?? 'prefix');
  const salt = position === 'none' ? '' : Buffer.from(input.salt ?? '', 'utf8').toString('base64url');
  return `$as-wrap$${input.algorithm}$${position}$${salt}${argon2idOfDigest}`;
}

export function fastDigestHex(
  algorithm: FastDigestAlgorithm,
  password: string,
  salt: string,
  position: 'none' | 'prefix' | 'suffix',
): string {
  const input = position === 'prefix' ? salt + password : position === 'suffix' ? password + salt : password;
  return createHash(algorithm).update(input, 'utf8').digest('hex');
}

/** True for every stored form this module verifies (native argon2id included). */
export function isKnownStoredHash(stored: string): boolean {
  return stored.startsWith('$as-wrap$') || BCRYPT.test(stored) || /^\$(argon2|scrypt|pbkdf2)/.test(stored);
}

/**
 * Verifies a password against any stored form. Returns false for a wrong password and for a stored
 * value this code cannot read (a corrupt hash must read as a failed login, never a server error).
 */
export async function verifyStoredHash(stored: string, password: string): Promise<boolean> {
  try {
    if (stored.startsWith('$argon2')) return await argon2Verify(stored, password);
    if (stored.startsWith('$2')) return BCRYPT.test(stored) && (await bcrypt.compare(password, stored));
    let match = WRAPPED.exec(stored);
    if (match) {
      const algorithm = match[1] as FastDigestAlgorithm;
      const position = match[2] as 'none' | 'prefix' | 'suffix';
      const salt = Buffer.from(match[3] ?? '', 'base64url').toString('utf8');
      return await argon2Verify(match[4] ?? '', fastDigestHex(algorithm, password, salt, position));
    }
    match = SCRYPT.exec(stored);
    if (match) {
      const params = scryptParams(Number(match[1]), Number(match[2]), Number(match[3]));
      const expected = decodeAdaptedBase64(match[5] ?? '');
      const derived = await scryptAsync(
        password,
        decodeAdaptedBase64(match[4] ?? ''),
        expected.length,
        params,
      );
      return timingSafeEqual(derived, expected);
    }
    match = PBKDF2.exec(stored);
    if (match) {
      const digest = match[1] === '-sha512' ? 'sha512' : match[1] === '-sha256' ? 'sha256' : 'sha1';
      const expected = decodeAdaptedBase64(match[4] ?? '');
      const derived = await pbkdf2Async(
        password,
        decodeAdaptedBase64(match[3] ?? ''),
        Number(match[2]),
        expected.length,
        digest,
      );
      return timingSafeEqual(derived, expected);
    }
    return false;
  } catch {
    return false;
  }
}
