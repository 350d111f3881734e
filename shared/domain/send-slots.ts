/**
 * The timing rules of the tenant-wide send rate (shared/stores/send-rate-limiter.ts counts the slots).
 *
 * Slots are counted per wall-clock second, and a mail must also go out in the second whose slot it holds:
 * a slot taken late in second S whose mail leaves in S+1 would let S+1 carry twice the rate. So slots are
 * taken for the second that starts within this lead time, and the sender waits for it to begin.
 */
export const SEND_SLOT_LEAD_MS = 250;

export function sendSlotSecond(nowMs: number): number {
  return Math.floor((nowMs + SEND_SLOT_LEAD_MS) / 1000);
}

/**
 * After taking a slot of `second`: how long to wait for that second to begin. When the claim was so slow that
 * its second is already over, the mail goes at once (0): its slot was still counted, so the rate over any few
 * seconds stays bounded, and taking a fresh slot would cost a request per late batch.
 */
export function msUntilSendSecond(second: number, nowMs: number): number {
  return Math.max(0, second * 1000 - nowMs);
}

/** How long to wait for the next second, with jitter so waiting notifiers don't stampede. */
export function delayUntilNextSecond(nowMs: number): number {
  return 1000 - (nowMs % 1000) + Math.floor(Math.random() * 50);
}
