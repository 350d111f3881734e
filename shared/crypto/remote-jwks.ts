import type { webcrypto } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import type { VerificationKeySource } from './access-tokens.js';
import { SIGNING_ALGORITHM } from './key-store.js';

const REFRESH_MS = 5 * 60 * 1000;

/**
 * Verification keys from the published JWKS (GET /.well-known/jwks.json), for code that must never
 * hold the private key: the Lambda authorizer of resource servers. Refreshed every 5 minutes, and on
 * demand when a token names an unknown kid (see createAccessTokenVerifier).
 */
export function createRemoteJwksSource(url: string, fetchJson: typeof fetch = fetch): VerificationKeySource {
  let cached:
    | { keys: Promise<{ verificationKeys: Map<string, webcrypto.CryptoKey> }>; at: number }
    | undefined;
  const fetchKeys = async () => {
    const response = await fetchJson(url, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error(`JWKS endpoint answered ${response.status}`);
    const { keys } = (await response.json()) as { keys?: JWK[] };
    const verificationKeys = new Map<string, webcrypto.CryptoKey>();
    for (const jwk of keys ?? []) {
      // Only the algorithm we sign with: a JWKS entry of another type must not widen what verifies.
      if (!jwk.kid || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || (jwk.alg && jwk.alg !== SIGNING_ALGORITHM))
        continue;
      verificationKeys.set(jwk.kid, (await importJWK(jwk, SIGNING_ALGORITHM)) as webcrypto.CryptoKey);
    }
    return { verificationKeys };
  };
  const source: VerificationKeySource = {
    load() {
      if (!cached || Date.now() - cached.at > REFRESH_MS) {
        const previous = cached;
        const entry = { keys: fetchKeys(), at: Date.now() };
        cached = entry;
        entry.keys.catch(() => {
          if (cached === entry) cached = previous;
        });
        return previous ? entry.keys.catch(() => previous.keys) : entry.keys;
      }
      return cached.keys;
    },
    reload() {
      cached = undefined;
      return source.load();
    },
  };
  return source;
}
