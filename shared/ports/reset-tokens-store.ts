import type { TransactItem } from './transaction.js';

export interface ResetTokenRecord {
  readonly userId: string;
  readonly createdAtMs: number;
  /** Epoch seconds; checked in code on every use (TTL deletion can lag by days). */
  readonly expiresAt: number;
  readonly usedAt?: string;
}

/** Password reset tokens, stored only as hashes. */
export interface ResetTokensStore {
  create(tokenHash: string, userId: string, now: Date): Promise<void>;
  get(tokenHash: string): Promise<ResetTokenRecord | undefined>;
  /** Marks the token used, in the caller's transaction, only if it is unused and unexpired: single use under concurrency. */
  consumeItem(tokenHash: string, now: Date): TransactItem;
}
