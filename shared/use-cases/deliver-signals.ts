import { PUSH_METHOD } from '../domain/security-signals.js';
import type { Logger } from '../ports/logger.js';
import type { SignalDelivery } from '../ports/signal-queue.js';
import type { SignalStreamsStore } from '../ports/signal-streams-store.js';
import type { SetPusher } from '../signals/set-push.js';

export interface DeliverSignalDeps {
  readonly streams: Pick<SignalStreamsStore, 'get' | 'hold'>;
  readonly pusher: SetPusher;
  readonly logger: Pick<Logger, 'warn'>;
  readonly now: () => number;
}

/** `retry`: leave the message on the queue (it comes back after a back-off, then goes to the DLQ). */
export type DeliveryResult = 'delivered' | 'dropped' | 'held' | 'retry';

/**
 * Pushes one queued SET (RFC 8935) with the stream's current settings: a stream deleted or disabled since the
 * event drops it, a paused one holds it until enabled. A receiver's RFC 8935 error (400 with `err`) is final for
 * that SET; anything else (down, slow, 5xx, refused address) is retried.
 */
export async function deliverSignal(
  deps: DeliverSignalDeps,
  delivery: SignalDelivery,
): Promise<DeliveryResult> {
  const stream = await deps.streams.get(delivery.streamId);
  if (
    !stream ||
    stream.status === 'disabled' ||
    stream.delivery.method !== PUSH_METHOD ||
    !stream.delivery.endpointUrl
  )
    return 'dropped';
  if (stream.status === 'paused') {
    await deps.streams.hold(stream.streamId, [{ jti: delivery.jti, set: delivery.set }], deps.now());
    return 'held';
  }
  const outcome = await deps.pusher.push(
    stream.delivery.endpointUrl,
    delivery.set,
    stream.delivery.authorizationHeader,
  );
  if (outcome.kind === 'accepted') return 'delivered';
  if (outcome.kind === 'rejected') {
    deps.logger.warn('receiver rejected a SET', {
      streamId: stream.streamId,
      jti: delivery.jti,
      err: outcome.err,
    });
    return 'dropped';
  }
  deps.logger.warn('SET push failed; will retry', {
    streamId: stream.streamId,
    jti: delivery.jti,
    reason: outcome.reason,
  });
  return 'retry';
}

/** Exponential back-off of the n-th failed attempt (1-based), capped: the message's next visibility timeout. */
export function retryDelaySeconds(attempt: number, baseSeconds: number, maxSeconds: number): number {
  return Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
}
