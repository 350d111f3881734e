import type { webcrypto } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import type { VerificationKeySource } from './access-tokens.js';
import { SIGNING_ALGORITHM } from './key-store.js';
import { KEY_SET_CACHE_MS } from './key-timing.js';

/**
 * Verification keys from the published JWKS (GET /.well-known/jwks.json), for code that must never
 * hold the private key: the Lambda authorizer of resource servers. Refreshed every KEY_SET_CACHE_MS, and on
 * demand when a token names an unknown kid (see createAccessTokenVerifier).
 */
export function createRemoteJwksSource(
  url: string,
  fetchJson: typeof fetch = fetch,
  now: () => number = Date.now,
): VerificationKeySource {
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
      if (!cached || now() - cached.at > KEY_SET_CACHE_MS) {
        const previous = cached;
        const entry = { keys: fetchKeys(), at: now() };
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
