import { randomBytes } from 'node:crypto';
import { ACCESS_TOKEN_TTL_SECONDS } from '../crypto/access-tokens.js';
import { randomSecret, sha256Hex } from '../crypto/secrets.js';
import { SESSION_IDLE_LIFETIME_SECONDS, type SessionRecord } from '../domain/session.js';
import type { TenantPolicy } from '../domain/tenant-policy.js';
import { type PublicUser, toPublicUser, type UserRecord } from '../domain/user.js';
import type { Deps } from './deps.js';

export interface TokenResponse {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
  readonly sessionId: string;
  readonly user: PublicUser;
}

const REFRESH_TOKEN_PREFIX = 'rt1';

/** `rt1.<userId>.<sessionId>.<secret>`: the ids locate the session; only the secret's hash is stored. */
export function formatRefreshToken(userId: string, sessionId: string, secret: string): string {
  return `${REFRESH_TOKEN_PREFIX}.${userId}.${sessionId}.${secret}`;
}

export function parseRefreshToken(token: string): { userId: string; sessionId: string } | undefined {
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== REFRESH_TOKEN_PREFIX) return undefined;
  const [, userId, sessionId, secret] = parts as [string, string, string, string];
  if (
    !/^[A-Za-z0-9-]{1,64}$/.test(userId) ||
    !/^[A-Za-z0-9_-]{1,64}$/.test(sessionId) ||
    secret.length < 43
  ) {
    return undefined;
  }
  return { userId, sessionId };
}

/**
 * A token issued in the same second as a tenant-wide revocation must not look older than it, so iat
 * is lifted to the first whole second after the cut-off (at most one second ahead of the clock).
 */
export function accessTokenIssuedAt(nowMs: number, tenant: TenantPolicy): number {
  const nowSeconds = Math.floor(nowMs / 1000);
  const cutOff = tenant.revokeTokensIssuedBefore;
  return cutOff === undefined ? nowSeconds : Math.max(nowSeconds, Math.ceil(cutOff / 1000));
}

/**
 * Mints an access token. The tenant policy comes from a strongly consistent read (or the caller's own strong
 * read), never from the revocation cache: with a cached policy that predates a cut-off, a token minted just after
 * it would carry an un-lifted `iat` and be rejected elsewhere, or a pre-incident session could be extended.
 */
export async function issueAccessToken(
  deps: Pick<Deps, 'accessTokens' | 'tenantPolicy' | 'clock'>,
  session: Pick<SessionRecord, 'userId' | 'sessionId' | 'tokenVersion' | 'clientId' | 'scope'>,
  stronglyReadTenant?: TenantPolicy,
): Promise<string> {
  const tenant = stronglyReadTenant ?? (await deps.tenantPolicy.get());
  const { token } = await deps.accessTokens.issue({
    userId: session.userId,
    sessionId: session.sessionId,
    tokenVersion: session.tokenVersion,
    ...(session.clientId === undefined ? {} : { clientId: session.clientId, scope: session.scope ?? '' }),
    issuedAt: accessTokenIssuedAt(deps.clock.now().getTime(), tenant),
  });
  return token;
}

/** A new device session's record and refresh-token secret (nothing stored yet). */
export function newSession(
  user: UserRecord,
  deviceName: string | undefined,
  /** A strongly consistent read of the tenant policy (see `issueAccessToken`). */
  tenant: TenantPolicy,
  now: Date,
  oauth?: { readonly clientId: string; readonly scope: string },
): { readonly session: SessionRecord; readonly secret: string } {
  // The read saw the cut-off, so this session starts after it even if this clock runs a little behind the
  // one that set it; never record it as older, or its first token would be revoked at once.
  const createdAtMs = Math.max(now.getTime(), tenant.revokeTokensIssuedBefore ?? 0);
  const secret = randomSecret(32);
  const session: SessionRecord = {
    userId: user.userId,
    sessionId: randomBytes(16).toString('base64url'),
    deviceName: deviceName ?? null,
    refreshTokenHash: sha256Hex(secret),
    tokenVersion: user.tokenVersion,
    createdAt: now.toISOString(),
    createdAtMs,
    lastUsedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + SESSION_IDLE_LIFETIME_SECONDS,
    ...(oauth === undefined ? {} : { clientId: oauth.clientId, scope: oauth.scope }),
  };
  return { session, secret };
}

/** The token response for a session that was just stored. */
export async function sessionTokens(
  deps: Pick<Deps, 'accessTokens' | 'tenantPolicy' | 'clock'>,
  user: UserRecord,
  started: { readonly session: SessionRecord; readonly secret: string },
  tenant: TenantPolicy,
): Promise<TokenResponse> {
  return {
    accessToken: await issueAccessToken(deps, started.session, tenant),
    refreshToken: formatRefreshToken(user.userId, started.session.sessionId, started.secret),
    tokenType: 'Bearer',
    expiresIn: ACCESS_TOKEN_TTL_SECONDS,
    sessionId: started.session.sessionId,
    user: toPublicUser(user),
  };
}

/**
 * The ports of a sign-in by a one-time code (OAuth authorization code, device code, SSO code): the account, the
 * tenant policy and revocation state, the new session and its tokens, and the `login_succeeded` event.
 */
export type CodeSignInDeps = Pick<
  Deps,
  'users' | 'sessions' | 'accessTokens' | 'revocation' | 'tenantPolicy' | 'clock' | 'events'
>;

/** Starts a new device session for a user who just proved who they are. */
export async function startSession(
  deps: Pick<Deps, 'sessions' | 'accessTokens' | 'tenantPolicy' | 'clock'>,
  user: UserRecord,
  deviceName: string | undefined,
  /** The caller's own strongly consistent read of the tenant policy, if it already made one. */
  stronglyReadTenant?: TenantPolicy,
  /** OAuth grants bind the session (and its refresh tokens) to a client and its granted scopes. */
  oauth?: { readonly clientId: string; readonly scope: string },
): Promise<TokenResponse> {
  const tenant = stronglyReadTenant ?? (await deps.tenantPolicy.get());
  const started = newSession(user, deviceName, tenant, deps.clock.now(), oauth);
  await deps.sessions.create(started.session);
  return sessionTokens(deps, user, started, tenant);
}

export function refreshSecretOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}
