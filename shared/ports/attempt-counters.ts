import type { ProgressiveDelay } from '../domain/attempt-limits.js';
import type { TransactItem } from './transaction.js';

/**
 * Storage of the attempt limiter's counters. Every method that takes an attempt is one conditional write,
 * so concurrent callers can never take more than the limit (shared/stores/attempts-store.ts; an in-memory
 * fake in the unit tests).
 *
 * Counters live per subject (an account, or the hash of an unknown login identifier, or a source address
 * for counters across accounts), so a completed reset can clear every counter of an account at once.
 */
export interface CounterRef {
  readonly subject: string;
  /** e.g. `password@203.0.113.9`, `code`, `code@link:ab12...`. */
  readonly counter: string;
  /** Epoch seconds of the window the attempt was taken in; giving it back must hit the same item. */
  readonly windowStart: number;
  /** Epoch seconds after which the item may be deleted (DynamoDB TTL). */
  readonly expiresAt: number;
}

export type GateResult = { readonly taken: true } | { readonly taken: false; readonly retryAtMs: number };

export interface AttemptCounters {
  /** Adds one if fewer than `limit` were taken in this counter's window. */
  takeBelow(ref: CounterRef, limit: number): Promise<boolean>;
  /**
   * Adds one if the gate is open (never shut, or its shut-until time has passed), and shuts it until
   * `nowMs + progressiveDelayMs(new count, delay)`. Refused attempts leave the count as it was.
   */
  takeThroughGate(ref: CounterRef, nowMs: number, delay: ProgressiveDelay): Promise<GateResult>;
  /** Gives one taken attempt back (the secret turned out right); never below zero. */
  giveBack(ref: CounterRef): Promise<void>;
  /** Deletes one counter of one window (a source that has just proved itself). */
  reset(ref: CounterRef): Promise<void>;
  /** Deletes every counter of a subject, keeping its remembered sources. */
  clear(subject: string): Promise<void>;
  isKnownSource(subject: string, source: string, nowMs: number): Promise<boolean>;
  rememberSource(subject: string, source: string, expiresAt: number): Promise<void>;
  /** `rememberSource` as an item of the caller's transaction. */
  rememberSourceItem(subject: string, source: string, expiresAt: number): TransactItem;
  /** `reset` as an item of the caller's transaction. */
  resetItem(ref: CounterRef): TransactItem;
}
