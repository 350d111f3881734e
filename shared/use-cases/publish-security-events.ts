import {
  isSecurityEventItem,
  MalformedSecurityEventItemError,
  type SecurityBusEvent,
  toSecurityBusEvent,
} from '../domain/security-bus-events.js';
import type { Logger } from '../ports/logger.js';
import type { SecurityEventBus } from '../ports/security-event-bus.js';

/** One records-table stream record, reduced to what publishing needs (the handler unmarshals the image). */
export interface RecordsStreamRecord {
  /** The stream sequence number: the partial batch response names failed records by it. */
  readonly sequenceNumber: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE' | undefined;
  readonly newImage: Readonly<Record<string, unknown>> | undefined;
}

export interface PublishReport {
  readonly published: number;
  /** Not a security event insert (the event source filter should already have left these out). */
  readonly ignored: number;
  /** Sequence numbers of records to retry (Lambda resumes the shard from the lowest one). */
  readonly failed: readonly string[];
}

export interface PublishDeps {
  readonly bus: SecurityEventBus;
  readonly logger: Logger;
}

/**
 * Publishes the security events of one stream batch to the bus. A record that cannot be published (refused by
 * EventBridge after retries, or not shaped like a stored event) is reported failed so that Lambda retries it and,
 * after its retry budget, hands it to the on-failure queue: an event is never dropped silently.
 */
export async function publishSecurityEvents(
  deps: PublishDeps,
  records: readonly RecordsStreamRecord[],
): Promise<PublishReport> {
  const failed: string[] = [];
  const toPublish: { sequenceNumber: string; event: SecurityBusEvent }[] = [];
  let ignored = 0;
  for (const record of records) {
    if (record.eventName !== 'INSERT' || !record.newImage || !isSecurityEventItem(record.newImage)) {
      ignored += 1;
      continue;
    }
    try {
      toPublish.push({ sequenceNumber: record.sequenceNumber, event: toSecurityBusEvent(record.newImage) });
    } catch (error) {
      if (!(error instanceof MalformedSecurityEventItemError)) throw error;
      // The reason names the defect, never an attribute value.
      deps.logger.error('security event item not publishable', {
        sequenceNumber: record.sequenceNumber,
        reason: error.message,
      });
      failed.push(record.sequenceNumber);
    }
  }
  const results = toPublish.length > 0 ? await deps.bus.publish(toPublish.map((entry) => entry.event)) : [];
  let published = 0;
  toPublish.forEach((entry, index) => {
    const result = results[index];
    if (result?.ok) {
      published += 1;
      return;
    }
    deps.logger.warn('security event not accepted by the bus', {
      sequenceNumber: entry.sequenceNumber,
      type: entry.event.detailType,
      errorCode: result?.ok === false ? result.errorCode : 'NoResult',
    });
    failed.push(entry.sequenceNumber);
  });
  return { published, ignored, failed };
}
