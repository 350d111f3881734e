import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SecurityEvent, SecurityEventType } from '../domain/security-event.js';
import type { TransactItem } from '../ports/transaction.js';

const RETENTION_SECONDS = 365 * 24 * 60 * 60;
const MAX_LISTED = 100;

/** Per-user audit trail in the records table: pk `events#<userId>`, sk `<ISO time>#<random>`. */
export class SecurityEventsStore {
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
