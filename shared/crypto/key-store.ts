import type { webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

export const SIGNING_ALGORITHM = 'ES256';

// i14a: every function below takes the key set's algorithm, so the Security Event Token keys (RS256, 2048-bit,
// CAEP interoperability profile) reuse the same documents, rotation and loading as the access-token keys (ES256).
// Default ES256 keeps every existing caller unchanged; i11b's signing-key-set module should absorb this parameter.
export type SigningAlgorithm = 'ES256' | 'RS256';
/** RSA modulus of generated RS256 keys: the CAEP interoperability profile's minimum. */
const RSA_MODULUS_BITS = 2048;

/**
 * What the signing-key secret (Secrets Manager) or local key file holds: private JWKs, newest first; all verify.
 * `activatesAt` (ISO-8601) is when a key may start signing: a rotation publishes a key well before it signs
 * (functions/key-rotation.ts). A key without it signs from the start.
 */
export interface SigningKeyDocument {
  readonly keys: readonly (JWK & { kid: string; createdAt?: string; activatesAt?: string })[];
}

/** What the public key set (a second secret on AWS, GET /.well-known/jwks.json) holds: public JWKs only. */
export interface PublicKeyDocument {
  readonly keys: readonly JWK[];
}

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

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

export function toPublicJwk(jwk: JWK): JWK {
  const publicJwk: JWK = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete publicJwk[member];
  delete (publicJwk as Record<string, unknown>)['createdAt'];
  delete (publicJwk as Record<string, unknown>)['activatesAt'];
  return publicJwk;
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

export async function importPublicKeys(
  document: PublicKeyDocument,
  algorithm: SigningAlgorithm = SIGNING_ALGORITHM,
): Promise<PublicKeys> {
  const verificationKeys = new Map<string, webcrypto.CryptoKey>();
  const publicJwks: JWK[] = [];
  for (const jwk of document.keys) {
    if (!jwk.kid) continue;
    // Only the algorithm we sign with, and never a private member, whatever the document holds.
    const publicJwk = { ...toPublicJwk(jwk), alg: algorithm, use: 'sig', kid: jwk.kid };
    verificationKeys.set(jwk.kid, (await importJWK(publicJwk, algorithm)) as webcrypto.CryptoKey);
    publicJwks.push(publicJwk);
  }
  return { verificationKeys, publicJwks };
}

export async function importSigningKeys(
  document: SigningKeyDocument,
  algorithm: SigningAlgorithm = SIGNING_ALGORITHM,
): Promise<SigningKeys> {
  if (document.keys.length === 0) throw new Error('The signing key document holds no keys');
  const { verificationKeys, publicJwks } = await importPublicKeys(document, algorithm);
  const signers = [];
  for (const jwk of document.keys) {
    const activatesAtMs =
      jwk.activatesAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(jwk.activatesAt);
    if (Number.isNaN(activatesAtMs)) throw new Error(`Key ${jwk.kid} has an invalid activatesAt`);
    signers.push({
      kid: jwk.kid,
      key: (await importJWK(jwk, algorithm)) as webcrypto.CryptoKey,
      activatesAtMs,
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

export async function generateSigningJwk(
  now: Date = new Date(),
  algorithm: SigningAlgorithm = SIGNING_ALGORITHM,
): Promise<JWK & { kid: string; createdAt: string }> {
  const { privateKey } = await generateKeyPair(algorithm, {
    extractable: true,
    ...(algorithm === 'RS256' ? { modulusLength: RSA_MODULUS_BITS } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: algorithm, use: 'sig', createdAt: now.toISOString() };
}

/**
 * Local development key store: the key lives in a git-ignored file that is created on first use
 * with owner-only permissions, so tokens stay valid across restarts of `npm start`.
 */
export function createFileKeyStore(path: string, algorithm: SigningAlgorithm = SIGNING_ALGORITHM): KeyStore {
  let loaded: Promise<SigningKeys> | undefined;
  const readOrCreate = async (): Promise<SigningKeys> => {
    let document: SigningKeyDocument;
    try {
      document = JSON.parse(await readFile(path, 'utf8')) as SigningKeyDocument;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      document = { keys: [await generateSigningJwk(new Date(), algorithm)] };
      await mkdir(dirname(path), { recursive: true });
      // 'wx' fails if another process created the file meanwhile; then read theirs.
      try {
        await writeFile(path, JSON.stringify(document, null, 2), { flag: 'wx', mode: 0o600 });
        await chmod(path, 0o600);
      } catch (writeError) {
        if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
        document = JSON.parse(await readFile(path, 'utf8')) as SigningKeyDocument;
      }
    }
    return importSigningKeys(document, algorithm);
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
