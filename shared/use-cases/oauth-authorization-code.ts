import { constantTimeEqual, randomSecret, sha256Hex } from '../crypto/secrets.js';
import {
  CODE_CHALLENGE,
  CODE_VERIFIER,
  grantedScopes,
  type OAuthClient,
  pkceChallengeOf,
} from '../domain/oauth.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { sessionIsExpired } from '../domain/session.js';
import { NotFoundError, OAuthError } from '../errors.js';
import { recordEvent } from './audit.js';
import type { Principal } from './authenticate.js';
import type { Deps } from './deps.js';
import { requireGrant } from './oauth-clients.js';
import { type OAuthTokenResponse, toOAuthTokenResponse } from './oauth-tokens.js';
import { type CodeSignInDeps, startSession } from './session-tokens.js';

/** How long the user has to sign in on the hosted page after the app sent them to /oauth2/authorize. */
const PENDING_REQUEST_SECONDS = 10 * 60;
/** RFC 6749 4.1.2 recommends at most 10 minutes; one minute is plenty for a redirect and a back-channel call. */
const CODE_LIFETIME_MS = 60_000;

export type AuthorizeOutcome =
  /** The request cannot be trusted to redirect anywhere: show the error (400). */
  | { readonly kind: 'error'; readonly error: OAuthError }
  /** 302 to this URL: the hosted login page, or the client's redirect URI with an error (RFC 6749 4.1.2.1). */
  | { readonly kind: 'redirect'; readonly location: string };

function withParams(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

/**
 * GET /oauth2/authorize: validates the request in the RFC's order. Until the client and its exact redirect URI
 * are known, errors are shown, never redirected (an open redirector otherwise); after that they go back to the
 * client with `state` and `iss` (RFC 9207).
 */
export async function authorize(
  deps: Pick<Deps, 'oauthClients' | 'authorizationRequests' | 'clock' | 'config'>,
  query: Readonly<Record<string, string | undefined>>,
): Promise<AuthorizeOutcome> {
  const fail = (description: string): AuthorizeOutcome => ({
    kind: 'error',
    error: new OAuthError('invalid_request', description),
  });
  const clientId = query['client_id'];
  if (!clientId) return fail('client_id is required.');
  const client = clientId.length <= 128 ? await deps.oauthClients.get(clientId) : undefined;
  if (!client) return fail('Unknown client_id.');
  const requested = query['redirect_uri'];
  let redirectUri: string | undefined;
  if (requested === undefined) {
    // RFC 6749 3.1.2.3: a client with a single registered URI may omit it.
    if (client.redirectUris.length === 1) redirectUri = client.redirectUris[0];
  } else if (client.redirectUris.includes(requested)) {
    redirectUri = requested;
  }
  if (redirectUri === undefined)
    return fail('redirect_uri does not exactly match a registered redirect URI.');

  const state = query['state'];
  const back = (code: OAuthError['code'], description: string): AuthorizeOutcome => ({
    kind: 'redirect',
    location: withParams(redirectUri, {
      error: code,
      error_description: description,
      state,
      iss: deps.config.jwt.issuer,
    }),
  });
  if (query['response_type'] !== 'code') {
    return back('unsupported_response_type', 'Only response_type=code is supported.');
  }
  if (!client.grantTypes.includes('authorization_code')) {
    return back('unauthorized_client', 'This client may not use the authorization code grant.');
  }
  const challenge = query['code_challenge'];
  if (challenge === undefined || query['code_challenge_method'] !== 'S256') {
    return back('invalid_request', 'PKCE is required: code_challenge with code_challenge_method=S256.');
  }
  if (!CODE_CHALLENGE.test(challenge)) return back('invalid_request', 'code_challenge is malformed.');
  if (state !== undefined && state.length > 512) return back('invalid_request', 'state is too long.');
  const scope = grantedScopes(client, query['scope']);
  if (scope === undefined)
    return back('invalid_scope', 'A requested scope is not registered for this client.');

  const requestId = randomSecret(32);
  const nowSeconds = Math.floor(deps.clock.now().getTime() / 1000);
  await deps.authorizationRequests.create({
    requestHash: sha256Hex(requestId),
    clientId: client.clientId,
    redirectUri,
    scope,
    ...(state === undefined ? {} : { state }),
    ...(query['nonce'] === undefined ? {} : { nonce: query['nonce'].slice(0, 512) }),
    codeChallenge: challenge,
    status: 'pending',
    expiresAt: nowSeconds + PENDING_REQUEST_SECONDS,
  });
  return {
    kind: 'redirect',
    location: withParams(`${deps.config.publicAppUrl}/login`, { authorization: requestId }),
  };
}

/** `ac1.<request id>.<secret>`: the request id finds the record, only the secret's hash is stored. */
function parseCode(code: string): { requestId: string; secret: string } | undefined {
  const parts = code.split('.');
  if (parts.length !== 3 || parts[0] !== 'ac1') return undefined;
  const [, requestId, secret] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]{43}$/.test(requestId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { requestId, secret };
}

/**
 * POST /v1/auth/authorize/complete: the signed-in user (the hosted page's bearer) approves a pending request;
 * a single-use code bound to the client, redirect URI, PKCE challenge, user and approving session goes back
 * to the client's redirect URI.
 */
export async function completeAuthorization(
  deps: Pick<Deps, 'authorizationRequests' | 'clock' | 'config'>,
  principal: Principal,
  requestId: string,
): Promise<{ redirectTo: string }> {
  const requestHash = sha256Hex(requestId);
  const record = await deps.authorizationRequests.get(requestHash);
  const now = deps.clock.now().getTime();
  if (record?.status !== 'pending' || record.expiresAt * 1000 <= now) {
    throw new NotFoundError(
      'This sign-in request is unknown, expired or already completed. Start again from the app.',
    );
  }
  const secret = randomSecret(32);
  const completed = await deps.authorizationRequests.complete({
    requestHash,
    userId: principal.userId,
    approvingSessionId: principal.sessionId,
    codeHash: sha256Hex(secret),
    codeExpiresAtMs: now + CODE_LIFETIME_MS,
    completedAtMs: now,
    nowSeconds: Math.floor(now / 1000),
  });
  if (!completed) {
    throw new NotFoundError(
      'This sign-in request is unknown, expired or already completed. Start again from the app.',
    );
  }
  return {
    redirectTo: withParams(record.redirectUri, {
      code: `ac1.${requestId}.${secret}`,
      state: record.state,
      iss: deps.config.jwt.issuer,
    }),
  };
}

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);

/**
 * RFC 6749 4.1.3 + RFC 7636 4.6. The code is burnt before the verifier is checked, so a wrong verifier cannot
 * be retried; a code presented again ends the session it started (RFC 6749 4.1.2).
 */
export async function authorizationCodeGrant(
  deps: CodeSignInDeps & Pick<Deps, 'authorizationRequests'>,
  client: OAuthClient,
  input: { code: string | undefined; redirectUri: string | undefined; codeVerifier: string | undefined },
  origin: RequestOrigin,
): Promise<OAuthTokenResponse> {
  requireGrant(client, 'authorization_code');
  if (!input.code) throw new OAuthError('invalid_request', 'code is required.');
  if (!input.codeVerifier || !CODE_VERIFIER.test(input.codeVerifier)) {
    throw new OAuthError('invalid_request', 'code_verifier (43-128 characters, RFC 7636) is required.');
  }
  const parsed = parseCode(input.code);
  if (!parsed) throw invalidGrant('The authorization code is invalid.');
  const requestHash = sha256Hex(parsed.requestId);
  const codeHash = sha256Hex(parsed.secret);
  const record = await deps.authorizationRequests.get(requestHash);
  if (
    !record?.codeHash ||
    !constantTimeEqual(record.codeHash, codeHash) ||
    record.clientId !== client.clientId
  ) {
    throw invalidGrant('The authorization code is invalid.');
  }
  const nowMs = deps.clock.now().getTime();
  if (!(await deps.authorizationRequests.redeem({ requestHash, codeHash, nowMs }))) {
    const current = await deps.authorizationRequests.get(requestHash);
    if (current?.status === 'redeemed' && current.sessionId && current.userId) {
      await deps.sessions.delete(current.userId, current.sessionId);
      deps.revocation.forget(current.userId);
      await recordEvent(deps, current.userId, 'session_revoked', origin, {
        sessionId: current.sessionId,
        reason: 'authorization_code_reused',
      });
    }
    throw invalidGrant('The authorization code is expired or was already used.');
  }
  if (input.redirectUri !== record.redirectUri) {
    throw invalidGrant('redirect_uri does not match the one of the authorization request.');
  }
  if (pkceChallengeOf(input.codeVerifier) !== record.codeChallenge) {
    throw invalidGrant('code_verifier does not match the code_challenge.');
  }
  const userId = record.userId!;
  const [user, approving, tenant] = await Promise.all([
    deps.users.get(userId),
    deps.sessions.get(userId, record.approvingSessionId!),
    deps.revocation.readTenant(),
  ]);
  const cutOff = tenant.revokeTokensIssuedBefore;
  // Signed out (or revoked everywhere) between approving and the exchange: the code dies with that session.
  if (
    !user ||
    !approving ||
    sessionIsExpired(approving, new Date(nowMs)) ||
    approving.tokenVersion < user.tokenVersion ||
    (cutOff !== undefined && approving.createdAtMs < cutOff)
  ) {
    throw invalidGrant('The session that approved this request has ended.');
  }
  const tokens = await startSession(deps, user, client.name, undefined, {
    clientId: client.clientId,
    scope: record.scope,
  });
  await deps.authorizationRequests.recordSession(requestHash, tokens.sessionId);
  await recordEvent(deps, user.userId, 'login_succeeded', origin, {
    sessionId: tokens.sessionId,
    deviceName: client.name,
    clientId: client.clientId,
    grant: 'authorization_code',
  });
  const idToken = record.scope.split(' ').includes('openid')
    ? await deps.accessTokens.issueIdToken({
        userId: user.userId,
        clientId: client.clientId,
        sessionId: tokens.sessionId,
        ...(record.nonce === undefined ? {} : { nonce: record.nonce }),
        authTime: Math.floor((record.completedAtMs ?? nowMs) / 1000),
        issuedAt: Math.floor(nowMs / 1000),
      })
    : undefined;
  return toOAuthTokenResponse(tokens, record.scope, idToken);
}
