import { ACCESS_TOKEN_TTL_SECONDS } from '../crypto/access-tokens.js';
import { randomSecret, sha256Hex } from '../crypto/secrets.js';
import { toPublicUser } from '../domain/user.js';
import { InvalidGrantError, NotFoundError } from '../errors.js';
import type { RequestOrigin } from '../stores/security-events-store.js';
import { type SessionRecord, sessionIsExpired } from '../stores/sessions-store.js';
import { recordEvent } from './accounts.js';
import type { Principal } from './authenticate.js';
import type { Deps } from './deps.js';
import { queueSecurityNotice } from './notices.js';
import {
  formatRefreshToken,
  issueAccessToken,
  parseRefreshToken,
  refreshSecretOf,
  type TokenResponse,
} from './session-tokens.js';

/** A session stays usable while it has not idled out, revoke-all has not passed it, nor a tenant cut-off. */
function sessionIsLive(
  session: SessionRecord,
  tokenVersion: number,
  revokeBefore: number | undefined,
  now: Date,
) {
  if (sessionIsExpired(session, now)) return false;
  if (session.tokenVersion < tokenVersion) return false;
  return revokeBefore === undefined || session.createdAtMs >= revokeBefore;
}

/**
 * Rotates the refresh token. A token that was already rotated means two parties hold it (one of
 * them a thief), so the whole session ends (reuse detection).
 */
export async function refreshSession(
  deps: Pick<Deps, 'users' | 'sessions' | 'accessTokens' | 'revocation' | 'clock' | 'events'>,
  refreshToken: string,
  origin: RequestOrigin,
  /** The authenticated OAuth client (token endpoint); undefined on the first-party JSON route. */
  clientId?: string,
): Promise<TokenResponse> {
  const location = parseRefreshToken(refreshToken);
  if (!location) throw new InvalidGrantError();
  const now = deps.clock.now();
  const [session, user, tenant] = await Promise.all([
    deps.sessions.get(location.userId, location.sessionId),
    deps.users.get(location.userId),
    deps.revocation.readTenant(),
  ]);
  if (!session || !user) throw new InvalidGrantError();
  // RFC 6749 6: a refresh token works only for the client it was issued to (the JSON route is a client of its own).
  if (session.clientId !== clientId) throw new InvalidGrantError();
  const presentedHash = sha256Hex(refreshSecretOf(refreshToken));
  if (session.previousRefreshTokenHash === presentedHash) {
    await deps.sessions.delete(session.userId, session.sessionId);
    deps.revocation.forget(session.userId);
    await recordEvent(deps, session.userId, 'refresh_token_reused', origin, { sessionId: session.sessionId });
    throw new InvalidGrantError();
  }
  if (session.refreshTokenHash !== presentedHash) throw new InvalidGrantError();
  if (!sessionIsLive(session, user.tokenVersion, tenant.revokeTokensIssuedBefore, now)) {
    await deps.sessions.delete(session.userId, session.sessionId);
    throw new InvalidGrantError();
  }
  const secret = randomSecret(32);
  const rotated = await deps.sessions.rotateRefreshToken({
    userId: session.userId,
    sessionId: session.sessionId,
    presentedHash,
    newHash: sha256Hex(secret),
    now,
  });
  // Lost the race to a concurrent refresh with the same token: that is reuse too.
  if (!rotated) {
    await deps.sessions.delete(session.userId, session.sessionId);
    deps.revocation.forget(session.userId);
    await recordEvent(deps, session.userId, 'refresh_token_reused', origin, { sessionId: session.sessionId });
    throw new InvalidGrantError();
  }
  return {
    accessToken: await issueAccessToken(deps, rotated),
    refreshToken: formatRefreshToken(session.userId, session.sessionId, secret),
    tokenType: 'Bearer',
    expiresIn: ACCESS_TOKEN_TTL_SECONDS,
    sessionId: session.sessionId,
    user: toPublicUser(user),
  };
}

export async function logout(
  deps: Pick<Deps, 'sessions' | 'revocation' | 'clock' | 'events'>,
  principal: Principal,
  origin: RequestOrigin,
): Promise<void> {
  await deps.sessions.delete(principal.userId, principal.sessionId);
  deps.revocation.forget(principal.userId);
  await recordEvent(deps, principal.userId, 'logout', origin, { sessionId: principal.sessionId });
}

export function describeSession(principal: Principal) {
  return {
    userId: principal.userId,
    sessionId: principal.sessionId,
    tokenVersion: principal.tokenVersion,
    issuedAt: new Date(principal.issuedAt * 1000).toISOString(),
    expiresAt: new Date(principal.expiresAt * 1000).toISOString(),
  };
}

export async function listSessions(
  deps: Pick<Deps, 'users' | 'sessions' | 'revocation' | 'clock'>,
  principal: Principal,
) {
  const [sessions, user, tenant] = await Promise.all([
    deps.sessions.listForUser(principal.userId),
    deps.users.get(principal.userId),
    deps.revocation.readTenant(),
  ]);
  const now = deps.clock.now();
  return sessions
    .filter((session) =>
      sessionIsLive(
        session,
        user?.tokenVersion ?? Number.POSITIVE_INFINITY,
        tenant.revokeTokensIssuedBefore,
        now,
      ),
    )
    .sort((a, b) => b.lastUsedAt.localeCompare(a.lastUsedAt))
    .map((session) => ({
      id: session.sessionId,
      deviceName: session.deviceName,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      current: session.sessionId === principal.sessionId,
    }));
}

export async function endSession(
  deps: Pick<Deps, 'sessions' | 'revocation' | 'clock' | 'events'>,
  principal: Principal,
  sessionId: string,
  origin: RequestOrigin,
): Promise<void> {
  // The key includes the caller's user id, so another user's session id is simply "not found".
  if (!(await deps.sessions.delete(principal.userId, sessionId))) throw new NotFoundError('No such session.');
  deps.revocation.forget(principal.userId);
  await recordEvent(deps, principal.userId, 'session_revoked', origin, { sessionId });
}

/** "Sign out of all devices": one conditional update of the token version, whatever the number of sessions. */
export async function revokeAllSessions(
  deps: Pick<Deps, 'users' | 'revocation' | 'clock' | 'events' | 'notifications'>,
  principal: Principal,
  origin: RequestOrigin,
): Promise<void> {
  const now = deps.clock.now();
  const user = await deps.users.bumpTokenVersionReturningUser(principal.userId, now);
  deps.revocation.forget(principal.userId);
  await recordEvent(deps, principal.userId, 'signed_out_all_devices', origin);
  await queueSecurityNotice(deps, user, 'signed_out_all_devices', origin);
}
