/**
 * One device authorization (RFC 8628). The device code is `<user code>.<secret>` and only the secret's SHA-256
 * is stored. Life: `pending` -> `approved` | `denied` -> `consumed` (tokens issued once).
 */
export interface DeviceAuthorizationRecord {
  readonly userCode: string;
  readonly deviceSecretHash: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly scope: string;
  readonly status: 'pending' | 'approved' | 'denied' | 'consumed';
  readonly userId?: string;
  /** The approving user's token version and the time of approval: a revoke-all or a tenant cut-off after the
   * approval and before the device's poll must not let the device in. */
  readonly approvedTokenVersion?: number;
  readonly decidedAtMs?: number;
  /** Seconds the device must wait between polls; slow_down adds 5 (RFC 8628 3.5). */
  readonly intervalSeconds: number;
  readonly lastPolledAtMs?: number;
  readonly createdAt: string;
  /** Epoch seconds; checked in code, TTL only cleans up. */
  readonly expiresAt: number;
}

export type PollOutcome =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'too_fast' }
  | { readonly kind: 'polled'; readonly record: DeviceAuthorizationRecord };

/** Device authorizations (RFC 8628), by user code. */
export interface DeviceAuthorizationsStore {
  /** False when the user code is taken by a live authorization (the caller draws another). */
  create(record: DeviceAuthorizationRecord, nowSeconds: number): Promise<boolean>;
  get(userCode: string): Promise<DeviceAuthorizationRecord | undefined>;
  /**
   * Records a poll. A poll sooner than the interval after the previous one (or racing another poll) is
   * `too_fast`: the interval grows by 5 s and the poll time moves on, so a device that keeps hammering keeps
   * being told to slow down.
   */
  poll(record: DeviceAuthorizationRecord, nowMs: number): Promise<PollOutcome>;
  /** pending -> approved/denied by a signed-in user, once, before expiry. */
  decide(input: {
    userCode: string;
    userId: string;
    tokenVersion: number;
    decision: 'approved' | 'denied';
    nowMs: number;
  }): Promise<boolean>;
  /** approved -> consumed: exactly one poll gets the tokens. */
  consume(userCode: string, nowSeconds: number): Promise<boolean>;
}
