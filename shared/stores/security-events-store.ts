import { randomBytes } from 'node:crypto';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SecurityEvent, SecurityEventType } from '../domain/security-event.js';
import type { SecurityEventsStore } from '../ports/security-events-store.js';
import type { TransactItem } from '../ports/transaction.js';

const RETENTION_SECONDS = 365 * 24 * 60 * 60;
const MAX_LISTED = 100;

/** Per-user audit trail in the records table: pk `events#<userId>`, sk `<ISO time>#<random>`. */
export class DynamoDbSecurityEventsStore implements SecurityEventsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async record(userId: string, event: SecurityEvent): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: this.eventItem(userId, event) }));
  }

  /** `record` as an item of the caller's transaction. */
  recordItem(userId: string, event: SecurityEvent): TransactItem {
    return { Put: { TableName: this.table, Item: this.eventItem(userId, event) } };
  }

  /**
   * many events in BatchWriteItem calls of 25 (a bulk import's forced resets), unprocessed items retried a
   * few times; what still fails is given up (events are an audit aid, see recordEvent).
   */
  async recordMany(events: readonly { userId: string; event: SecurityEvent }[]): Promise<void> {
    for (let start = 0; start < events.length; start += 25) {
      let pending: Record<string, unknown>[] | undefined = events
        .slice(start, start + 25)
        .map(({ userId, event }) => ({ PutRequest: { Item: this.eventItem(userId, event) } }));
      for (let attempt = 0; pending && pending.length > 0 && attempt < 4; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const result = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: pending as never[] } }),
        );
        pending = result.UnprocessedItems?.[this.table] as Record<string, unknown>[] | undefined;
      }
    }
  }

  /** The item `record` writes, for callers that write the event inside their own transaction. */
  eventItem(userId: string, event: SecurityEvent): Record<string, unknown> {
    return {
      pk: `events#${userId}`,
      sk: `${event.at}#${randomBytes(4).toString('hex')}`,
      ...event,
      expiresAt: Math.floor(Date.parse(event.at) / 1000) + RETENTION_SECONDS,
    };
  }

  async listNewestFirst(userId: string): Promise<SecurityEvent[]> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `events#${userId}` },
        ScanIndexForward: false,
        Limit: MAX_LISTED,
      }),
    );
    return (result.Items ?? []).map((item) => ({
      type: item['type'] as SecurityEventType,
      at: item['at'] as string,
      ip: (item['ip'] as string | null) ?? null,
      userAgent: (item['userAgent'] as string | null) ?? null,
      detail: (item['detail'] as SecurityEvent['detail']) ?? {},
    }));
  }
}
