import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { BUS_EVENT_SOURCE, type SecurityBusEvent } from '../domain/security-bus-events.js';
import type { BusPublishResult, SecurityEventBus } from '../ports/security-event-bus.js';

/** EventBridge takes at most 10 entries per PutEvents call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

export interface EventBridgeSecurityEventBusOptions {
  readonly busName: string;
  /** Calls per chunk, the first included, before a refused entry is reported failed. @default 3 */
  readonly maxAttempts?: number;
  /** Back-off before the second call; doubles with each retry. @default 100 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function entryOf(busName: string, event: SecurityBusEvent): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: BUS_EVENT_SOURCE,
    DetailType: event.detailType,
    Time: event.time,
    Detail: JSON.stringify(event.detail),
  };
}

/**
 * PutEvents in chunks of 10. PutEvents answers 200 with per-entry errors (throttling, internal failures), so
 * the refused entries of a chunk are sent again, alone, with a doubling back-off; a call that throws (network,
 * throttled call) is retried the same way. What is still refused after `maxAttempts` is reported per entry.
 */
export function createEventBridgeSecurityEventBus(
  client: EventBridgeClient,
  options: EventBridgeSecurityEventBusOptions,
): SecurityEventBus {
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const sleep = options.sleep ?? defaultSleep;

  async function publishChunk(events: readonly SecurityBusEvent[]): Promise<BusPublishResult[]> {
    const results: BusPublishResult[] = events.map(() => ({ ok: false, errorCode: 'NotAttempted' }));
    let pending = events.map((_, index) => index);
    for (let attempt = 1; pending.length > 0 && attempt <= maxAttempts; attempt += 1) {
      if (attempt > 1) await sleep(baseDelayMs * 2 ** (attempt - 2));
      let entries: { ErrorCode?: string | undefined; EventId?: string | undefined }[];
      try {
        const response = await client.send(
          new PutEventsCommand({ Entries: pending.map((index) => entryOf(options.busName, events[index]!)) }),
        );
        entries = response.Entries ?? [];
      } catch (error) {
        const errorCode = error instanceof Error ? error.name : 'PutEventsFailed';
        for (const index of pending) results[index] = { ok: false, errorCode };
        continue;
      }
      const stillPending: number[] = [];
      pending.forEach((index, position) => {
        const entry = entries[position];
        if (entry && entry.ErrorCode === undefined && entry.EventId !== undefined) {
          results[index] = { ok: true };
        } else {
          results[index] = { ok: false, errorCode: entry?.ErrorCode ?? 'NoResult' };
          stillPending.push(index);
        }
      });
      pending = stillPending;
    }
    return results;
  }

  return {
    async publish(events) {
      const chunks: SecurityBusEvent[][] = [];
      for (let start = 0; start < events.length; start += PUT_EVENTS_MAX_ENTRIES) {
        chunks.push(events.slice(start, start + PUT_EVENTS_MAX_ENTRIES));
      }
      // EventBridge promises no order between entries anyway; chunks go out together.
      return (await Promise.all(chunks.map(publishChunk))).flat();
    },
  };
}
