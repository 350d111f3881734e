export const SESSION_IDLE_LIFETIME_SECONDS = 30 * 24 * 60 * 60;

/** One signed-in device. Deleting the item ends the session; its tokens then stop working. */
export interface SessionRecord {
  readonly userId: string;
  readonly sessionId: string;
  readonly deviceName: string | null;
  /** SHA-256 of the current refresh token; the token itself is never stored. */
  readonly refreshTokenHash: string;
  /**
   * SHA-256 of the refresh token this one replaced. Seen again within the grace window (just after the rotation)
   * it is a concurrent refresh by another tab of the same client; later, a replay (reuse detection).
   */
  readonly previousRefreshTokenHash?: string;
  /** Epoch ms of the last rotation: the grace window for the previous token counts from here. */
  readonly rotatedAtMs?: number;
  /** The current refresh token sealed under a key derived from the previous one (shared/crypto/refresh-grace.ts). */
  readonly graceRefreshToken?: string;
  /** How many times the refresh token was rotated (the current token's generation; the first is 0). */
  readonly refreshGeneration?: number;
  /** The user's token version when the session started; revoke-all makes it stale. */
  readonly tokenVersion: number;
  readonly createdAt: string;
  readonly createdAtMs: number;
  readonly lastUsedAt: string;
  /** OAuth sessions: the client the refresh token is bound to; absent for first-party (JSON login) sessions. */
  readonly clientId?: string;
  /** OAuth sessions: the scopes granted, space-separated, carried into every access token of the session. */
  readonly scope?: string;
  /** Epoch seconds: 30 days after last use. Checked in code; TTL only cleans up. */
  readonly expiresAt: number;
}

export function sessionIsExpired(session: Pick<SessionRecord, 'expiresAt'>, now: Date): boolean {
  return session.expiresAt * 1000 <= now.getTime();
}
