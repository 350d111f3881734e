import type { webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

export const SIGNING_ALGORITHM = 'ES256';

/** What the signing-key secret (Secrets Manager) or local key file holds: keys[0] signs, all verify. */
export interface SigningKeyDocument {
  readonly keys: readonly (JWK & { kid: string; createdAt?: string })[];
}

export interface SigningKeys {
  readonly currentKid: string;
  readonly signingKey: webcrypto.CryptoKey;
  readonly verificationKeys: ReadonlyMap<string, webcrypto.CryptoKey>;
  /** Public halves only, for GET /.well-known/jwks.json. */
  readonly publicJwks: readonly JWK[];
}

/** Port: where signing keys come from (a local file, Secrets Manager on AWS). */
export interface KeyStore {
  load(): Promise<SigningKeys>;
  /** Re-reads the keys now (after a rotation); stores that never change may omit it. */
  reload?(): Promise<SigningKeys>;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

export function toPublicJwk(jwk: JWK): JWK {
  const publicJwk: JWK = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete publicJwk[member];
  delete (publicJwk as Record<string, unknown>)['createdAt'];
  return publicJwk;
}

export async function importSigningKeys(document: SigningKeyDocument): Promise<SigningKeys> {
  const [current] = document.keys;
  if (!current) throw new Error('The signing key document holds no keys');
  const verificationKeys = new Map<string, webcrypto.CryptoKey>();
  const publicJwks: JWK[] = [];
  let signingKey: webcrypto.CryptoKey | undefined;
  for (const jwk of document.keys) {
    const publicJwk = { ...toPublicJwk(jwk), alg: SIGNING_ALGORITHM, use: 'sig', kid: jwk.kid };
    verificationKeys.set(jwk.kid, (await importJWK(publicJwk, SIGNING_ALGORITHM)) as webcrypto.CryptoKey);
    publicJwks.push(publicJwk);
    if (jwk === current) signingKey = (await importJWK(jwk, SIGNING_ALGORITHM)) as webcrypto.CryptoKey;
  }
  return { currentKid: current.kid, signingKey: signingKey!, verificationKeys, publicJwks };
}

export async function generateSigningJwk(
  now: Date = new Date(),
): Promise<JWK & { kid: string; createdAt: string }> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: SIGNING_ALGORITHM, use: 'sig', createdAt: now.toISOString() };
}

/**
 * Local development key store: the key lives in a git-ignored file that is created on first use
 * with owner-only permissions, so tokens stay valid across restarts of `npm start`.
 */
export function createFileKeyStore(path: string): KeyStore {
  let loaded: Promise<SigningKeys> | undefined;
  const readOrCreate = async (): Promise<SigningKeys> => {
    let document: SigningKeyDocument;
    try {
      document = JSON.parse(await readFile(path, 'utf8')) as SigningKeyDocument;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      document = { keys: [await generateSigningJwk()] };
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
    return importSigningKeys(document);
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
