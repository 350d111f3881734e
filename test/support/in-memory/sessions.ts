import { SESSION_IDLE_LIFETIME_SECONDS, type SessionRecord } from '../../../shared/domain/session.js';
import type { RotatedRefreshToken, SessionsStore } from '../../../shared/ports/sessions-store.js';
import type { TransactItem } from '../../../shared/ports/transaction.js';
import { commitMemoryItems, memoryItem } from './transaction.js';

/** Sessions and rotated-away refresh tokens, with the conditions of shared/stores/sessions-store.ts. */
export class InMemorySessions implements SessionsStore {
  readonly sessions = new Map<string, SessionRecord>();
  readonly rotated = new Map<string, RotatedRefreshToken>();
  private key = (userId: string, sessionId: string) => `${userId}|${sessionId}`;

  async create(session: SessionRecord): Promise<void> {
    if (!commitMemoryItems([this.createItem(session)])) throw new Error('The session id is taken');
  }

  private createItem(session: SessionRecord): TransactItem {
    const key = this.key(session.userId, session.sessionId);
    return memoryItem('create session', {
      check: () => !this.sessions.has(key),
      apply: () => void this.sessions.set(key, structuredClone(session)),
    });
  }

  async createTogether(session: SessionRecord, otherItems: readonly TransactItem[]): Promise<boolean> {
    return commitMemoryItems([this.createItem(session), ...otherItems]);
  }

  async get(userId: string, sessionId: string): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(this.key(userId, sessionId));
    return session && structuredClone(session);
  }

  async rotateRefreshToken(input: Parameters<SessionsStore['rotateRefreshToken']>[0]): Promise<boolean> {
    const key = this.key(input.userId, input.sessionId);
    const session = this.sessions.get(key);
    if (session?.refreshTokenHash !== input.presentedHash || this.rotated.has(input.presentedHash))
      return false;
    this.sessions.set(key, {
      ...session,
      refreshTokenHash: input.newHash,
      previousRefreshTokenHash: input.presentedHash,
      rotatedAtMs: input.now.getTime(),
      graceRefreshToken: input.graceRefreshToken,
      refreshGeneration: input.generation,
      lastUsedAt: input.now.toISOString(),
      expiresAt: Math.floor(input.now.getTime() / 1000) + SESSION_IDLE_LIFETIME_SECONDS,
    });
    this.rotated.set(input.presentedHash, {
      userId: input.userId,
      sessionId: input.sessionId,
      generation: input.generation - 1,
    });
    return true;
  }

  async findRotated(userId: string, sessionId: string, hash: string) {
    const rotated = this.rotated.get(hash);
    return rotated?.userId === userId && rotated.sessionId === sessionId ? { ...rotated } : undefined;
  }

  async delete(userId: string, sessionId: string): Promise<boolean> {
    return this.sessions.delete(this.key(userId, sessionId));
  }

  async listForUser(userId: string): Promise<SessionRecord[]> {
    return [...this.sessions.values()].filter((s) => s.userId === userId).map((s) => structuredClone(s));
  }
}
