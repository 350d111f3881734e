import type { SessionRecord } from '../domain/session.js';
import type { TransactItem } from './transaction.js';

/**
 * A refresh token a rotation replaced, remembered with its session: presenting any older generation is recognised
 * as reuse and ends the session (docs/adr/0001-token-design.md).
 */
export interface RotatedRefreshToken {
  readonly userId: string;
  readonly sessionId: string;
  readonly generation: number;
}

/** A refresh of a session: the presented refresh token and the one that replaces it. */
export interface RefreshRotation {
  readonly userId: string;
  readonly sessionId: string;
  readonly presentedHash: string;
  readonly newHash: string;
  /** The new full token sealed under the presented one, for the grace window. */
  readonly graceRefreshToken: string;
  readonly generation: number;
  readonly now: Date;
}

/** Sessions, and the refresh tokens their rotations replaced. */
export interface SessionsStore {
  create(session: SessionRecord): Promise<void>;
  /**
   * Starts a session together with the caller's other writes (its security event, the attempt limiter's records)
   * and conditions (the tenant policy it decided on is still the current one), in one transaction. False when a
   * condition failed: nothing was written.
   */
  createTogether(session: SessionRecord, otherItems: readonly TransactItem[]): Promise<boolean>;
  get(userId: string, sessionId: string): Promise<SessionRecord | undefined>;
  /**
   * Swaps the refresh token only if the presented token is still the current one (so two concurrent refreshes
   * cannot both rotate), and in the same transaction remembers the presented token as rotated away. False when
   * another refresh (or the end of the session) came first.
   */
  rotateRefreshToken(input: RefreshRotation): Promise<boolean>;
  /** The rotated-away refresh token with this hash, if it belonged to this session. */
  findRotated(userId: string, sessionId: string, hash: string): Promise<RotatedRefreshToken | undefined>;
  /** Returns whether a session was there to end. */
  delete(userId: string, sessionId: string): Promise<boolean>;
  listForUser(userId: string): Promise<SessionRecord[]>;
}
