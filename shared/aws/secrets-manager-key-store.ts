import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  importPublicKeys,
  importSigningKeys,
  type KeyStore,
  type PublicKeyDocument,
  type PublicKeySource,
  type PublicKeys,
  SIGNING_ALGORITHM,
  type SigningAlgorithm,
  type SigningKeyDocument,
  type SigningKeys,
} from '../crypto/key-store.js';
import { KEY_SET_CACHE_MS } from '../crypto/key-timing.js';

/**
 * A secret's parsed value, re-read every KEY_SET_CACHE_MS so a rotated key is used (and published) without a
 * redeploy. A failed refresh keeps serving the previous value; a failed first load is retried on the next call.
 */
function cachedSecret<T>(
  client: SecretsManagerClient,
  secretArn: string,
  parse: (secretString: string) => Promise<T>,
  now: () => number,
) {
  let cached: { value: Promise<T>; loadedAt: number } | undefined;
  const fetchValue = async () => {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!result.SecretString) throw new Error('The key secret has no value');
    return parse(result.SecretString);
  };
  const load = (): Promise<T> => {
    if (!cached || now() - cached.loadedAt > KEY_SET_CACHE_MS) {
      const value = fetchValue();
      const entry = { value, loadedAt: now() };
      const previous = cached;
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = previous;
      });
      return previous ? value.catch(() => previous.value) : value;
    }
    return cached.value;
  };
  return {
    load,
    reload: () => {
      cached = undefined;
      return load();
    },
  };
}

/** The private signing keys (the secret the key-rotation function maintains): token-minting functions only. */
export function createSecretsManagerKeyStore(
  client: SecretsManagerClient,
  secretArn: string,
  now: () => number = Date.now,
  // i14a: RS256 for the Security Event Token key set.
  algorithm: SigningAlgorithm = SIGNING_ALGORITHM,
): KeyStore {
  return cachedSecret<SigningKeys>(
    client,
    secretArn,
    async (value) => importSigningKeys(JSON.parse(value) as SigningKeyDocument, algorithm),
    now,
  );
}

/** The public key set (a second secret the key-rotation function publishes): every function that verifies. */
export function createSecretsManagerPublicKeys(
  client: SecretsManagerClient,
  secretArn: string,
  now: () => number = Date.now,
  // i14a: RS256 for the Security Event Token key set.
  algorithm: SigningAlgorithm = SIGNING_ALGORITHM,
): PublicKeySource {
  return cachedSecret<PublicKeys>(
    client,
    secretArn,
    async (value) => importPublicKeys(JSON.parse(value) as PublicKeyDocument, algorithm),
    now,
  );
}
