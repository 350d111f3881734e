import type { webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { importJWK, type JWK } from 'jose';
import {
  firstSigningKeySet,
  generateSigningKey,
  type PublicKeySet,
  parseSigningKeySet,
  publicKeyDocument,
  type SigningAlgorithm,
  type SigningKeySet,
} from './signing-key-set.js';

/** The algorithm of the access-token key set (access, client and ID tokens). */
export const SIGNING_ALGORITHM = 'ES256' satisfies SigningAlgorithm;

/** Verification keys and their public JWKs: everything a function that only checks tokens may hold. */
export interface PublicKeys {
  readonly verificationKeys: ReadonlyMap<string, webcrypto.CryptoKey>;
  /** Public halves only, for GET /.well-known/jwks.json. */
  readonly publicJwks: readonly JWK[];
}

export interface SigningKeys extends PublicKeys {
  /** Private keys, newest first, each with the time from which it may sign (see signerAt). */
  readonly signers: readonly {
    readonly kid: string;
    readonly key: webcrypto.CryptoKey;
    readonly activatesAtMs: number;
  }[];
}

/** Port: where signing keys come from (a local file, Secrets Manager on AWS). Only token-minting code has one. */
export interface KeyStore {
  load(): Promise<SigningKeys>;
  /** Re-reads the keys now (after a rotation); stores that never change may omit it. */
  reload?(): Promise<SigningKeys>;
}

/** Port: where the public keys come from, for code that only verifies tokens (and the JWKS endpoint). */
export interface PublicKeySource {
  load(): Promise<PublicKeys>;
  reload?(): Promise<unknown>;
}

/**
 * The key that signs at `nowMs`: the newest one whose activation time has come. A key still waiting is published
 * (every verifier already knows it when it starts signing) but signs nothing yet.
 */
export function signerAt(keys: SigningKeys, nowMs: number): { kid: string; key: webcrypto.CryptoKey } {
  const active = keys.signers.find((signer) => signer.activatesAtMs <= nowMs) ?? keys.signers.at(-1);
  if (!active) throw new Error('The signing key document holds no keys');
  return active;
}

/** Imports a parsed public key set (shared/crypto/signing-key-set.ts parsePublicKeySet): one algorithm, kid on each. */
export async function importPublicKeys(set: PublicKeySet): Promise<PublicKeys> {
  const verificationKeys = new Map<string, webcrypto.CryptoKey>();
  for (const jwk of set.keys) {
    verificationKeys.set(jwk.kid, (await importJWK(jwk, jwk.alg)) as webcrypto.CryptoKey);
  }
  return { verificationKeys, publicJwks: set.keys };
}

/** Imports a parsed signing key set (shared/crypto/signing-key-set.ts parseSigningKeySet). */
export async function importSigningKeys(set: SigningKeySet): Promise<SigningKeys> {
  if (set.keys.length === 0) throw new Error('The signing key document holds no keys');
  const { verificationKeys, publicJwks } = await importPublicKeys(publicKeyDocument(set));
  const signers = [];
  for (const jwk of set.keys) {
    signers.push({
      kid: jwk.kid,
      key: (await importJWK(jwk, jwk.alg)) as webcrypto.CryptoKey,
      activatesAtMs: jwk.activatesAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(jwk.activatesAt),
    });
  }
  return { signers, verificationKeys, publicJwks };
}

/** The public view of a key store (local runner and tests, where one file holds both). */
export function publicKeysOf(store: KeyStore): PublicKeySource {
  const view = (keys: SigningKeys): PublicKeys => ({
    verificationKeys: keys.verificationKeys,
    publicJwks: keys.publicJwks,
  });
  return {
    load: async () => view(await store.load()),
    ...(store.reload ? { reload: async () => view(await store.reload!()) } : {}),
  };
}

/**
 * Local development key store: the key set lives in a git-ignored file that is created on first use with
 * owner-only permissions, so tokens stay valid across restarts of `npm start`. Same format and parser as the
 * Secrets Manager secret.
 */
export function createFileKeyStore(path: string, algorithm: SigningAlgorithm = SIGNING_ALGORITHM): KeyStore {
  let loaded: Promise<SigningKeys> | undefined;
  const readOrCreate = async (): Promise<SigningKeys> => {
    let set: SigningKeySet;
    try {
      set = parseSigningKeySet(algorithm, await readFile(path, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const now = new Date();
      set = firstSigningKeySet(await generateSigningKey(algorithm, now), now);
      await mkdir(dirname(path), { recursive: true });
      // 'wx' fails if another process created the file meanwhile; then read theirs.
      try {
        await writeFile(path, JSON.stringify(set, null, 2), { flag: 'wx', mode: 0o600 });
        await chmod(path, 0o600);
      } catch (writeError) {
        if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
        set = parseSigningKeySet(algorithm, await readFile(path, 'utf8'));
      }
    }
    return importSigningKeys(set);
  };
  return {
    load: () => {
      loaded ??= readOrCreate().catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
      return loaded;
    },
  };
}
