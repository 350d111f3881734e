import { deterministicJti, type SetSigner } from '../crypto/security-event-tokens.js';
import {
  PUSH_METHOD,
  type RecordedSecurityEvent,
  signalsFor,
  subjectFor,
} from '../domain/security-signals.js';
import type { SignalDelivery, SignalQueue } from '../ports/signal-queue.js';
import type { SignalStreamsStore } from '../ports/signal-streams-store.js';
import type { UsersStore } from '../ports/users-store.js';

export interface FanOutDeps {
  readonly issuer: string;
  readonly now: () => number;
  readonly streams: Pick<SignalStreamsStore, 'list' | 'hold'>;
  readonly users: Pick<UsersStore, 'get'>;
  readonly setSigner: SetSigner;
  readonly signalQueue: SignalQueue;
}

/** A security event as the records-table stream delivers it, with the key that makes its SETs' jti stable. */
export interface StreamedSecurityEvent extends RecordedSecurityEvent {
  /** `<pk>|<sk>` of the event item: unique per recorded event. */
  readonly key: string;
}

export interface FanOutResult {
  /** SETs signed for push streams and queued. */
  readonly queued: number;
  /** SETs held for poll streams and paused push streams. */
  readonly held: number;
}

/**
 * Turns recorded security events into one SET per (event, signal, stream that delivers that event type): queued
 * for enabled push streams, held for poll streams and paused ones; disabled streams get nothing. Runs from the
 * records-table stream, after the user's action has already been answered. Retrying a batch is safe: the same
 * event gives the same jti (receivers de-duplicate on it) and a held SET is the same item written again.
 */
export async function fanOutSecurityEvents(
  deps: FanOutDeps,
  events: readonly StreamedSecurityEvent[],
): Promise<FanOutResult> {
  const signalled = events.flatMap((event) => signalsFor(event).map((signal) => ({ event, signal })));
  if (signalled.length === 0) return { queued: 0, held: 0 };
  const streams = (await deps.streams.list()).filter((stream) => stream.status !== 'disabled');
  if (streams.length === 0) return { queued: 0, held: 0 };
  const emails = new Map<string, Promise<string | undefined>>();
  const emailOf = (userId: string) => {
    let email = emails.get(userId);
    if (!email) {
      email = deps.users.get(userId).then((user) => user?.email);
      emails.set(userId, email);
    }
    return email;
  };
  const queued: SignalDelivery[] = [];
  const held = new Map<string, { jti: string; set: string }[]>();
  for (const { event, signal } of signalled) {
    for (const stream of streams) {
      if (!stream.eventsDelivered.includes(signal.eventType)) continue;
      const subject = signal.tenantWide
        ? subjectFor(stream.subjectFormat, deps.issuer, 'tenant')
        : subjectFor(stream.subjectFormat, deps.issuer, {
            userId: event.userId,
            email: stream.subjectFormat === 'email' ? await emailOf(event.userId) : undefined,
          });
      const jti = deterministicJti(Date.parse(event.at), event.key, stream.streamId, signal.eventType);
      const set = await deps.setSigner.sign({
        jti,
        audience: stream.audience,
        subject,
        eventType: signal.eventType,
        payload: signal.payload,
        subjectInEvent: true,
      });
      if (stream.delivery.method === PUSH_METHOD && stream.status === 'enabled')
        queued.push({ streamId: stream.streamId, jti, set });
      else held.set(stream.streamId, [...(held.get(stream.streamId) ?? []), { jti, set }]);
    }
  }
  await Promise.all([
    deps.signalQueue.enqueue(queued),
    ...[...held].map(([streamId, sets]) => deps.streams.hold(streamId, sets, deps.now())),
  ]);
  return { queued: queued.length, held: [...held.values()].reduce((sum, sets) => sum + sets.length, 0) };
}
