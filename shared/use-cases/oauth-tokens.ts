import { ACCESS_TOKEN_TTL_SECONDS } from '../crypto/access-tokens.js';
import { grantedScopes, type OAuthClient } from '../domain/oauth.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { InvalidGrantError, OAuthError } from '../errors.js';
import type { Deps } from './deps.js';
import { requireGrant } from './oauth-clients.js';
import { accessTokenIssuedAt, type TokenResponse } from './session-tokens.js';
import { refreshSession } from './sessions.js';

/** RFC 6749 5.1. */
export interface OAuthTokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly scope: string;
  /** OpenID Connect, authorization code grants with the `openid` scope. */
  readonly id_token?: string;
}

export function toOAuthTokenResponse(
  tokens: TokenResponse,
  scope: string,
  idToken?: string,
): OAuthTokenResponse {
  return {
    access_token: tokens.accessToken,
    token_type: 'Bearer',
    expires_in: tokens.expiresIn,
    refresh_token: tokens.refreshToken,
    scope,
    ...(idToken === undefined ? {} : { id_token: idToken }),
  };
}

/** Runs a session use-case, turning its InvalidGrantError into the RFC's body. */
export async function asOAuthGrant<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidGrantError) {
      throw new OAuthError(
        'invalid_grant',
        'The grant is invalid, expired, revoked or was issued to another client.',
      );
    }
    throw error;
  }
}

/**
 * RFC 6749 4.4 for resource servers and signal receivers: a token about the client itself, with no user, no
 * session and no refresh token. It goes stale when the client's secret is rotated or the client is deleted.
 */
export async function clientCredentialsGrant(
  deps: Pick<Deps, 'accessTokens' | 'revocation' | 'clock'>,
  client: OAuthClient,
  requestedScope: string | undefined,
): Promise<OAuthTokenResponse> {
  if (client.type !== 'confidential') {
    throw new OAuthError('unauthorized_client', 'client_credentials needs a confidential client.');
  }
  requireGrant(client, 'client_credentials');
  const scope = grantedScopes(client, requestedScope);
  if (scope === undefined)
    throw new OAuthError('invalid_scope', 'A requested scope is not registered for this client.');
  const tenant = await deps.revocation.readTenant();
  const { token } = await deps.accessTokens.issueClientToken({
    clientId: client.clientId,
    scope,
    credentialVersion: client.credentialVersion,
    issuedAt: accessTokenIssuedAt(deps.clock.now().getTime(), tenant),
  });
  return { access_token: token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS, scope };
}

/**
 * RFC 6749 6 over the same rotation and reuse detection as the JSON route; the refresh token only works for the
 * client its session was started by. A `scope` parameter is not used to narrow: tokens keep the granted scope.
 */
export async function refreshTokenGrant(
  deps: Parameters<typeof refreshSession>[0],
  client: OAuthClient,
  refreshToken: string,
  origin: RequestOrigin,
): Promise<OAuthTokenResponse> {
  requireGrant(client, 'refresh_token');
  const tokens = await asOAuthGrant(() => refreshSession(deps, refreshToken, origin, client.clientId));
  const session = await deps.sessions.get(tokens.user.id, tokens.sessionId);
  return toOAuthTokenResponse(tokens, session?.scope ?? '');
}
