import type { SecurityEvent } from '../domain/security-event.js';
import type { TransactItem } from './transaction.js';

/** The per-user audit trail of security events. */
export interface SecurityEventsStore {
  record(userId: string, event: SecurityEvent): Promise<void>;
  /** `record` as an item of the caller's transaction. */
  recordItem(userId: string, event: SecurityEvent): TransactItem;
  /**
   * many events in BatchWriteItem calls of 25 (a bulk import's forced resets), unprocessed items retried a
   * few times; what still fails is given up (events are an audit aid, see recordEvent).
   */
  recordMany(
    events: readonly {
      userId: string;
      event: SecurityEvent;
    }[],
  ): Promise<void>;
  /** The item `record` writes, for callers that write the event inside their own transaction. */
  eventItem(userId: string, event: SecurityEvent): Record<string, unknown>;
  listNewestFirst(userId: string): Promise<SecurityEvent[]>;
}
