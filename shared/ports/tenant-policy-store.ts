import type { TenantPolicy, TenantPolicyField } from '../domain/tenant-policy.js';
import type { TransactItem } from './transaction.js';

/** The tenant-wide policy: cut-offs that only move forward. */
export interface TenantPolicyStore {
  get(): Promise<TenantPolicy>;
  /**
   * A transaction condition: the policy is still the one the caller read (both cut-offs as seen, or still absent),
   * so whatever the caller decided from it (reset required or not, a session's start) holds at the commit.
   */
  unchangedItem(seen: TenantPolicy): TransactItem;
  /** Moves a cut-off forward, never back, so a late or replayed incident cannot un-revoke anything. */
  raise(field: TenantPolicyField, atMs: number): Promise<void>;
}
