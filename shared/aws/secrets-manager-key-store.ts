import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  importSigningKeys,
  type KeyStore,
  type SigningKeyDocument,
  type SigningKeys,
} from '../crypto/key-store.js';

/** Re-read this often so a rotated key is used (and published) without a redeploy. */
const REFRESH_MS = 5 * 60 * 1000;

/** The signing keys from the Secrets Manager secret that the key-rotation function maintains. */
export function createSecretsManagerKeyStore(client: SecretsManagerClient, secretArn: string): KeyStore {
  let cached: { keys: Promise<SigningKeys>; loadedAt: number } | undefined;
  const fetchKeys = async () => {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!result.SecretString) throw new Error('The signing key secret has no value');
    return importSigningKeys(JSON.parse(result.SecretString) as SigningKeyDocument);
  };
  const store: KeyStore = {
    reload() {
      cached = undefined;
      return store.load();
    },
    load() {
      if (!cached || Date.now() - cached.loadedAt > REFRESH_MS) {
        const keys = fetchKeys();
        const entry = { keys, loadedAt: Date.now() };
        // Keep serving the previous keys if a refresh fails; drop a failed first load so it is retried.
        const previous = cached;
        cached = entry;
        keys.catch(() => {
          if (cached === entry) cached = previous;
        });
        return previous ? keys.catch(() => previous.keys) : keys;
      }
      return cached.keys;
    },
  };
  return store;
}
