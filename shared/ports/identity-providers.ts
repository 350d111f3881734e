import type { FederatedIdentity, SsoErrorCode } from '../domain/sso.js';

export interface IdentityProviderInfo {
  readonly id: string;
  readonly displayName: string;
  readonly jitCreate: boolean;
}

export interface AuthorizationRequest {
  readonly state: string;
  readonly nonce: string;
  /** The PKCE verifier; the adapter sends its S256 challenge. */
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export interface CallbackChecks {
  /** The full callback URL the browser arrived at (code, state, iss or error). */
  readonly callbackUrl: URL;
  readonly expectedState: string;
  readonly expectedNonce: string;
  readonly codeVerifier: string;
}

/** A failed sign-in at or with the provider; the callback turns it into `#sso_error=<code>`. */
export class SsoFlowError extends Error {
  override readonly name = 'SsoFlowError';
  constructor(
    readonly code: SsoErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The configured OpenID Connect providers (adapter: shared/oidc/openid-providers.ts, on openid-client). */
export interface IdentityProviders {
  list(): readonly IdentityProviderInfo[];
  get(id: string): IdentityProviderInfo | undefined;
  /** Throws SsoFlowError('unavailable') when the provider's discovery document cannot be read. */
  authorizationUrl(id: string, request: AuthorizationRequest): Promise<URL>;
  /** Code for tokens, then the ID token verified (signature from the JWKS, iss, aud, exp, nonce); SsoFlowError otherwise. */
  completeAuthorization(id: string, checks: CallbackChecks): Promise<FederatedIdentity>;
}
