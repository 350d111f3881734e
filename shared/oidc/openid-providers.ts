import * as client from 'openid-client';
import type { SsoProviderConfig } from '../config.js';
import type { FederatedIdentity } from '../domain/sso.js';
import {
  type AuthorizationRequest,
  type CallbackChecks,
  type IdentityProviderInfo,
  type IdentityProviders,
  SsoFlowError,
} from '../ports/identity-providers.js';

/** Seconds for any one request to a provider: a slow IdP must not hold a Lambda to its timeout. */
const PROVIDER_TIMEOUT_SECONDS = 5;

/** Reads a client secret from Secrets Manager (AWS); the local runner gives secrets inline. */
export type SecretReader = (secretArn: string) => Promise<string>;

const isLoopbackHttp = (issuer: string): boolean => new URL(issuer).protocol === 'http:';

/**
 * Error codes of a request that got no HTTP answer: Node's socket errors (ECONNREFUSED, ECONNRESET, ENOTFOUND, ...)
 * and undici's (UND_ERR_SOCKET for a connection dropped mid-request, UND_ERR_CONNECT_TIMEOUT, ...).
 */
const NO_ANSWER_CODE = /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/;

/** No HTTP answer at all (refused, reset, dropped, DNS, timeout) or a 5xx: the provider is down, not the request wrong. */
function isProviderOutage(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    if (current instanceof Response) return current.status >= 500;
    const candidate = current as {
      name?: string;
      message?: string;
      code?: string;
      status?: number;
      cause?: unknown;
    };
    if (candidate.name === 'TimeoutError' || candidate.name === 'AbortError') return true;
    // By name, not instanceof: fetch's TypeError may come from another realm (a VM context, a test runner).
    if (candidate.name === 'TypeError' && /fetch failed/i.test(candidate.message ?? '')) return true;
    if (typeof candidate.code === 'string' && NO_ANSWER_CODE.test(candidate.code)) return true;
    if (typeof candidate.status === 'number' && candidate.status >= 500) return true;
    current = candidate.cause;
  }
  return false;
}

function toFlowError(error: unknown): SsoFlowError {
  if (error instanceof SsoFlowError) return error;
  if (error instanceof client.AuthorizationResponseError) {
    return error.error === 'access_denied'
      ? new SsoFlowError('access_denied', 'The sign-in was cancelled at the provider.')
      : new SsoFlowError('provider_error', 'The provider refused the sign-in.');
  }
  if (isProviderOutage(error))
    return new SsoFlowError('unavailable', 'The identity provider is unavailable.');
  if (error instanceof client.ResponseBodyError) {
    return error.error === 'invalid_grant'
      ? new SsoFlowError('invalid_grant', 'The authorization code is invalid, expired or used.')
      : new SsoFlowError('provider_error', 'The provider refused the sign-in.');
  }
  // Everything else is a response openid-client would not accept: a bad signature, iss, aud, exp or nonce.
  return new SsoFlowError(
    'invalid_id_token',
    'The identity provider sent an ID token that failed verification.',
    {
      cause: error,
    },
  );
}

/**
 * openid-client (a certified relying party) does discovery, PKCE, state and the ID token checks; with
 * non-repudiation checks on it also verifies the ID token's signature against the provider's JWKS.
 * Discovery and the secret read run once per provider and cold start (on first use), and are retried after
 * a failure rather than cached.
 */
export function createOpenIdProviders(
  providers: readonly SsoProviderConfig[],
  readSecret: SecretReader,
): IdentityProviders {
  const byId = new Map(providers.map((p) => [p.id, p] as const));
  const configurations = new Map<string, Promise<client.Configuration>>();

  const configurationOf = (id: string): Promise<client.Configuration> => {
    const provider = byId.get(id);
    if (!provider) return Promise.reject(new SsoFlowError('provider_error', 'Unknown provider.'));
    let pending = configurations.get(id);
    if (!pending) {
      const execute = [client.enableNonRepudiationChecks];
      if (isLoopbackHttp(provider.issuer)) execute.push(client.allowInsecureRequests);
      const secret =
        provider.clientSecret !== undefined
          ? Promise.resolve(provider.clientSecret)
          : readSecret(provider.clientSecretArn ?? '');
      pending = secret
        .then((clientSecret) =>
          client.discovery(
            new URL(provider.issuer),
            provider.clientId,
            undefined,
            client.ClientSecretBasic(clientSecret),
            { execute, timeout: PROVIDER_TIMEOUT_SECONDS },
          ),
        )
        .catch((error: unknown) => {
          configurations.delete(id);
          throw new SsoFlowError('unavailable', 'The identity provider is unavailable.', { cause: error });
        });
      configurations.set(id, pending);
    }
    return pending;
  };

  const info = (p: SsoProviderConfig): IdentityProviderInfo => ({
    id: p.id,
    displayName: p.displayName,
    jitCreate: p.jitCreate,
  });

  return {
    list: () => providers.map(info),
    get: (id) => {
      const provider = byId.get(id);
      return provider ? info(provider) : undefined;
    },
    async authorizationUrl(id: string, request: AuthorizationRequest): Promise<URL> {
      const configuration = await configurationOf(id);
      return client.buildAuthorizationUrl(configuration, {
        redirect_uri: request.redirectUri,
        scope: byId.get(id)?.scopes ?? 'openid email',
        response_type: 'code',
        state: request.state,
        nonce: request.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
        code_challenge_method: 'S256',
      });
    },
    async completeAuthorization(id: string, checks: CallbackChecks): Promise<FederatedIdentity> {
      try {
        const configuration = await configurationOf(id);
        const tokens = await client.authorizationCodeGrant(configuration, checks.callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.expectedState,
          expectedNonce: checks.expectedNonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (!claims) throw new SsoFlowError('invalid_id_token', 'The provider sent no ID token.');
        const email = typeof claims['email'] === 'string' ? claims['email'].trim().toLowerCase() : undefined;
        return {
          issuer: claims.iss,
          subject: claims.sub,
          email: email && email.length <= 254 ? email : undefined,
          emailVerified: claims['email_verified'] === true,
        };
      } catch (error) {
        throw toFlowError(error);
      }
    },
  };
}
