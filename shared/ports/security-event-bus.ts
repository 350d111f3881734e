import type { SecurityBusEvent } from '../domain/security-bus-events.js';

/** What became of one event handed to the bus (same order as the input). */
export type BusPublishResult = { readonly ok: true } | { readonly ok: false; readonly errorCode: string };

/**
 * The EventBridge bus of internal consumers (shared/aws/eventbridge-security-event-bus.ts). `publish` never
 * throws for a refused entry: it reports each one, so the caller can fail exactly the stream records concerned.
 */
export interface SecurityEventBus {
  publish(events: readonly SecurityBusEvent[]): Promise<readonly BusPublishResult[]>;
}
