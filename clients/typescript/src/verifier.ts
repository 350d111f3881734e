import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from 'jose';
import { AccountShieldError, errorFrom } from './errors.js';

export interface VerifiedToken extends JWTPayload {
  readonly sub: string;
  readonly sid?: string;
  readonly client_id?: string;
  readonly scope?: string;
}

export interface ResourceServerVerifierOptions {
  /** account-shield's issuer (JWT_ISSUER); its discovery document gives the JWKS and introspection URLs. */
  readonly issuer: string;
  /** @default 'account-shield' */
  readonly audience?: string;
  /**
   * A confidential client of this resource server: revocation is checked with RFC 7662 introspection (works
   * for every token, client credentials included). Without it, `GET /v1/auth/session` is asked (user tokens).
   */
  readonly introspectionClient?: { readonly clientId: string; readonly clientSecret: string };
  /** How long a revocation verdict is reused; at most 1000 ms, the contract's revocation bound. @default 1000 */
  readonly cacheMs?: number;
  readonly fetch?: typeof fetch;
}

const invalid = () =>
  new AccountShieldError(401, 'invalid_token', 'The access token is invalid, expired or revoked.');

/**
 * For any Node server: verifies an account-shield access token's signature (remote JWKS, ES256 pinned),
 * `iss`, `aud`, `typ: at+jwt` and expiry locally, then asks account-shield whether it was revoked, reusing
 * each answer for at most one second, so a revoke-all or an incident stops the token within about a second.
 */
export function createResourceServerVerifier(options: ResourceServerVerifierOptions) {
  const fetchImpl = options.fetch ?? fetch;
  const issuer = options.issuer.replace(/\/+$/, '');
  const cacheMs = Math.min(options.cacheMs ?? 1000, 1000);
  const verdicts = new Map<string, { active: boolean; at: number }>();
  let metadata: Promise<{ jwks: ReturnType<typeof createRemoteJWKSet>; introspection: string }> | undefined;
  const discover = () => {
    metadata ??= fetchImpl(`${issuer}/.well-known/openid-configuration`).then(async (response) => {
      if (!response.ok) throw await errorFrom(response);
      const document = (await response.json()) as { jwks_uri: string; introspection_endpoint: string };
      return {
        jwks: createRemoteJWKSet(new URL(document.jwks_uri), { [customFetch]: fetchImpl }),
        introspection: document.introspection_endpoint,
      };
    });
    metadata.catch(() => {
      metadata = undefined;
    });
    return metadata;
  };

  const stillActive = async (token: string, introspection: string): Promise<boolean> => {
    const client = options.introspectionClient;
    const response = client
      ? await fetchImpl(introspection, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(
              `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
            ).toString('base64')}`,
          },
          body: new URLSearchParams({ token }).toString(),
        })
      : await fetchImpl(`${issuer}/v1/auth/session`, { headers: { authorization: `Bearer ${token}` } });
    if (!client && response.status === 401) return false;
    if (!response.ok) throw await errorFrom(response);
    return client ? ((await response.json()) as { active: boolean }).active === true : true;
  };

  return {
    async verify(token: string): Promise<VerifiedToken> {
      const { jwks, introspection } = await discover();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience: options.audience ?? 'account-shield',
          algorithms: ['ES256'],
          typ: 'at+jwt',
        }));
      } catch {
        throw invalid();
      }
      const now = Date.now();
      let verdict = verdicts.get(token);
      if (!verdict || now - verdict.at >= cacheMs) {
        verdict = { active: await stillActive(token, introspection), at: now };
        if (verdicts.size > 10_000) verdicts.clear();
        verdicts.set(token, verdict);
      }
      if (!verdict.active) throw invalid();
      return payload as VerifiedToken;
    },
  };
}
