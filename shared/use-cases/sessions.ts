import { ACCESS_TOKEN_TTL_SECONDS } from '../crypto/access-tokens.js';
import { openForGrace, sealForGrace } from '../crypto/refresh-grace.js';
import { randomSecret, sha256Hex } from '../crypto/secrets.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { type SessionRecord, sessionIsExpired } from '../domain/session.js';
import { toPublicUser } from '../domain/user.js';
import { InvalidGrantError, NotFoundError } from '../errors.js';
import { recordEvent } from './audit.js';
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

/** Whether the previous token, presented again now, is a concurrent refresh the grace window covers. */
function withinGrace(session: SessionRecord, presentedHash: string, graceMs: number, now: Date): boolean {
  return (
    graceMs > 0 &&
    session.previousRefreshTokenHash === presentedHash &&
    session.rotatedAtMs !== undefined &&
    session.graceRefreshToken !== undefined &&
    now.getTime() - session.rotatedAtMs <= graceMs
  );
}

type RefreshDeps = Pick<
  Deps,
  'config' | 'users' | 'sessions' | 'accessTokens' | 'tenantPolicy' | 'revocation' | 'clock' | 'events'
>;

/**
 * Rotates the refresh token (docs/adr/0001-token-design.md, "Refresh-token families"). Any token the session
 * rotated away, of any generation, means two parties hold the session (one of them a thief), so the whole
 * session ends (reuse detection). The one exception: the immediately previous token within the grace window,
 * which is two tabs or apps of the same client refreshing at once; it gets the session's current refresh token
 * (the same one the winner got) and a fresh access token.
 *
 * The tenant policy is read strongly consistent, never from the revocation cache: a refresh on an instance whose
 * cache predates a `scope: all` revocation must not extend a pre-incident session.
 */
export async function refreshSession(
  deps: RefreshDeps,
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
    deps.tenantPolicy.get(),
  ]);
  if (!session || !user) throw new InvalidGrantError();
  // RFC 6749 6: a refresh token works only for the client it was issued to (the JSON route is a client of its own).
  if (session.clientId !== clientId) throw new InvalidGrantError();
  const secret = refreshSecretOf(refreshToken);
  const presentedHash = sha256Hex(secret);
  const sessionKey = `${session.userId}.${session.sessionId}`;
  const graceMs = deps.config.refreshGraceMs;

  const endForReuse = async (): Promise<never> => {
    await deps.sessions.delete(session.userId, session.sessionId);
    deps.revocation.forget(session.userId);
    await recordEvent(deps, session.userId, 'refresh_token_reused', origin, { sessionId: session.sessionId });
    throw new InvalidGrantError();
  };
  const respond = async (current: SessionRecord, token: string): Promise<TokenResponse> => ({
    accessToken: await issueAccessToken(deps, current, tenant),
    refreshToken: token,
    tokenType: 'Bearer',
    expiresIn: ACCESS_TOKEN_TTL_SECONDS,
    sessionId: current.sessionId,
    user: toPublicUser(user),
  });
  const graceResponse = async (current: SessionRecord): Promise<TokenResponse> => {
    const token = openForGrace(current.graceRefreshToken!, secret, sessionKey);
    // A sealed value that does not open with this token's secret is not ours to hand out.
    if (token === undefined) return endForReuse();
    return respond(current, token);
  };

  if (session.refreshTokenHash !== presentedHash) {
    if (session.previousRefreshTokenHash === presentedHash) {
      if (!sessionIsLive(session, user.tokenVersion, tenant.revokeTokensIssuedBefore, now)) {
        await deps.sessions.delete(session.userId, session.sessionId);
        throw new InvalidGrantError();
      }
      if (withinGrace(session, presentedHash, graceMs, now)) return graceResponse(session);
      return endForReuse();
    }
    // Older generations are remembered one item per token, so only a token this session really issued ends it.
    if (await deps.sessions.findRotated(session.userId, session.sessionId, presentedHash))
      return endForReuse();
    throw new InvalidGrantError();
  }
  if (!sessionIsLive(session, user.tokenVersion, tenant.revokeTokensIssuedBefore, now)) {
    await deps.sessions.delete(session.userId, session.sessionId);
    throw new InvalidGrantError();
  }
  const nextSecret = randomSecret(32);
  const nextToken = formatRefreshToken(session.userId, session.sessionId, nextSecret);
  const rotated = await deps.sessions.rotateRefreshToken({
    userId: session.userId,
    sessionId: session.sessionId,
    presentedHash,
    newHash: sha256Hex(nextSecret),
    graceRefreshToken: sealForGrace(nextToken, secret, sessionKey),
    generation: (session.refreshGeneration ?? 0) + 1,
    now,
  });
  if (rotated) return respond(session, nextToken);
  // Lost the race to a concurrent refresh with the same token: within the grace window that is the same client;
  // otherwise (grace off, or the session ended meanwhile) it is reuse.
  const latest = await deps.sessions.get(session.userId, session.sessionId);
  if (latest && withinGrace(latest, presentedHash, graceMs, deps.clock.now())) return graceResponse(latest);
  return endForReuse();
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
