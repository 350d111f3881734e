import type { ClientAccessTokenClaims } from '../crypto/access-tokens.js';
import { sha256Hex } from '../crypto/secrets.js';
import type { OAuthClient } from '../domain/oauth.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { sessionIsExpired } from '../domain/session.js';
import { InvalidTokenError, OAuthError } from '../errors.js';
import { recordEvent } from './audit.js';
import { isRevoked } from './authenticate.js';
import type { Deps } from './deps.js';
import { parseRefreshToken, refreshSecretOf } from './session-tokens.js';

type StatusDeps = Pick<
  Deps,
  'accessTokens' | 'revocation' | 'sessions' | 'users' | 'oauthClients' | 'clock' | 'events' | 'config'
>;

/**
 * RFC 7009. A refresh token (current or just rotated) ends its session; so does an access token of a user
 * session, since the session is what the token stands for. Client credentials tokens are not listed anywhere:
 * they stop at expiry (15 minutes), or at once for every token of the client when its secret is rotated.
 * Tokens of other clients, unknown and invalid tokens all get the same 200 (RFC 7009 2.2).
 */
export async function revokeToken(
  deps: StatusDeps,
  client: OAuthClient,
  token: string,
  origin: RequestOrigin,
): Promise<void> {
  const end = async (userId: string, sessionId: string) => {
    if (await deps.sessions.delete(userId, sessionId)) {
      deps.revocation.forget(userId);
      await recordEvent(deps, userId, 'session_revoked', origin, { sessionId, clientId: client.clientId });
    }
  };
  const location = parseRefreshToken(token);
  if (location) {
    const session = await deps.sessions.get(location.userId, location.sessionId);
    const hash = sha256Hex(refreshSecretOf(token));
    if (
      session?.clientId === client.clientId &&
      (session.refreshTokenHash === hash || session.previousRefreshTokenHash === hash)
    ) {
      await end(session.userId, session.sessionId);
    }
    return;
  }
  try {
    const verified = await deps.accessTokens.verifyAny(token);
    if (verified.kind === 'user' && verified.claims.client_id === client.clientId) {
      await end(verified.claims.sub, verified.claims.sid);
    }
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
  }
}

export type IntrospectionResponse =
  | { readonly active: false }
  | {
      readonly active: true;
      readonly token_type: 'Bearer' | 'refresh_token';
      readonly sub: string;
      readonly client_id?: string;
      readonly scope?: string;
      readonly exp: number;
      readonly iat: number;
      readonly sid?: string;
      readonly iss: string;
      readonly aud?: string;
      readonly jti?: string;
    };

const INACTIVE = { active: false } as const;

/**
 * RFC 7662 for confidential clients (resource servers). Access tokens are judged by the same revocation rules
 * and the same <= 1 s state reader as every bearer check of this API, so a revoke-all, an ended session or a
 * scope-all incident reads as `active: false` within a second.
 */
export async function introspectToken(
  deps: StatusDeps,
  client: OAuthClient,
  token: string,
): Promise<IntrospectionResponse> {
  if (client.type !== 'confidential') {
    throw OAuthError.invalidClient('Introspection needs a confidential client.');
  }
  const now = deps.clock.now();
  const iss = deps.config.jwt.issuer;
  const location = parseRefreshToken(token);
  if (location) {
    const [session, user, tenant] = await Promise.all([
      deps.sessions.get(location.userId, location.sessionId),
      deps.users.get(location.userId),
      deps.revocation.readTenant(),
    ]);
    const cutOff = tenant.revokeTokensIssuedBefore;
    if (
      !session ||
      !user ||
      session.refreshTokenHash !== sha256Hex(refreshSecretOf(token)) ||
      sessionIsExpired(session, now) ||
      session.tokenVersion < user.tokenVersion ||
      (cutOff !== undefined && session.createdAtMs < cutOff)
    ) {
      return INACTIVE;
    }
    return {
      active: true,
      token_type: 'refresh_token',
      sub: session.userId,
      ...(session.clientId === undefined ? {} : { client_id: session.clientId, scope: session.scope ?? '' }),
      exp: session.expiresAt,
      iat: Math.floor(session.createdAtMs / 1000),
      sid: session.sessionId,
      iss,
    };
  }
  let verified: Awaited<ReturnType<typeof deps.accessTokens.verifyAny>>;
  try {
    verified = await deps.accessTokens.verifyAny(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) return INACTIVE;
    throw error;
  }
  if (verified.kind === 'user') {
    const claims = verified.claims;
    const state = await deps.revocation.read(claims.sub, claims.sid);
    if (isRevoked(claims, state, now.getTime())) return INACTIVE;
    return {
      active: true,
      token_type: 'Bearer',
      sub: claims.sub,
      ...(claims.client_id === undefined ? {} : { client_id: claims.client_id, scope: claims.scope ?? '' }),
      exp: claims.exp,
      iat: claims.iat,
      sid: claims.sid,
      iss,
      aud: deps.config.jwt.audience,
      jti: claims.jti,
    };
  }
  const claims = verified.claims;
  if (!(await clientTokenIsCurrent(deps, claims))) return INACTIVE;
  return {
    active: true,
    token_type: 'Bearer',
    sub: claims.sub,
    client_id: claims.client_id,
    scope: claims.scope,
    exp: claims.exp,
    iat: claims.iat,
    iss,
    aud: deps.config.jwt.audience,
    jti: claims.jti,
  };
}

/**
 * A client credentials token stays good while its client exists with the same credential version (a rotated or
 * deleted secret ends its tokens) and it was issued after any tenant-wide cut-off.
 */
export async function clientTokenIsCurrent(
  deps: {
    readonly oauthClients: Pick<Deps['oauthClients'], 'get'>;
    readonly revocation: Pick<Deps['revocation'], 'readTenant'>;
  },
  claims: ClientAccessTokenClaims,
): Promise<boolean> {
  const [owner, tenant] = await Promise.all([
    deps.oauthClients.get(claims.client_id),
    deps.revocation.readTenant(),
  ]);
  const cutOff = tenant.revokeTokensIssuedBefore;
  return (
    owner !== undefined &&
    owner.credentialVersion === claims.cv &&
    (cutOff === undefined || claims.iat >= Math.ceil(cutOff / 1000))
  );
}
