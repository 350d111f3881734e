/** Keeps every notifier together under the account's SES sending quota. */
export interface SendRateLimiter {
  /** Waits until `count` sends fit in the tenant-wide per-second budget, then takes them. */
  acquire(count: number): Promise<void>;
}
