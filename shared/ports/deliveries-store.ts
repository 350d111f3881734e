/**
 * sending: claimed, SES call in flight (or the sender crashed: then it stays here, as "unknown",
 *          and is never sent again);
 * retryable: a transient failure released the claim; the next delivery of the message may claim it;
 * sent / rejected / skipped: final;
 * unknown: final; SES may or may not have taken the mail (a timeout after the request left), never resent.
 */
export type DeliveryStatus = 'sending' | 'retryable' | 'sent' | 'rejected' | 'skipped' | 'unknown';

export type ClaimOutcome = { claimed: true } | { claimed: false; status: DeliveryStatus };

/** `second`: the wall-clock second whose send slot the claim holds (see send-rate-limiter.ts). */
export type ClaimWithSlotOutcome =
  | { claimed: true; second: number }
  | { claimed: false; status: DeliveryStatus }
  | { slotFull: true };

/** The exactly-once gate of account mail: one delivery per message business key (docs/adr/0003-exactly-once-mail.md). */
export interface DeliveriesStore {
  /**
   * The claim and one slot of the tenant-wide send rate in one transaction: one request instead of two,
   * and a slot is never spent on a duplicate.
   */
  claimWithSendSlot(deliveryKey: string, now: Date, maxPerSecond: number): Promise<ClaimWithSlotOutcome>;
  /** The exactly-once gate: only one consumer, once, gets to send for a key. */
  claim(deliveryKey: string, now: Date): Promise<ClaimOutcome>;
  settle(
    deliveryKey: string,
    status: Exclude<DeliveryStatus, 'sending'>,
    detail: {
      messageId?: string;
      reason?: string;
    },
    now: Date,
  ): Promise<void>;
  status(deliveryKey: string): Promise<DeliveryStatus | undefined>;
}
