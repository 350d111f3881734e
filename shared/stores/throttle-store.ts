import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
import type { ThrottleStore } from '../ports/throttle-store.js';
import { conditionalWrite, conditionHeld } from './conditional-write.js';

/**
 * Fixed-window counters in the records table (pk `throttle#<scope>#<key>`, sk `<window start>`),
 * incremented atomically with ADD so concurrent attempts are all counted. Used for request and mail rate limits
 * (sign-up, forgot-password, reset mails, notices); checks of secrets use the attempt limiter (attempts-store.ts).
 */
export class DynamoDbThrottleStore implements ThrottleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(scope: string, key: string, windowSeconds: number, nowMs: number) {
    const windowStart = Math.floor(nowMs / 1000 / windowSeconds) * windowSeconds;
    return {
      key: { pk: `throttle#${scope}#${key}`, sk: String(windowStart) },
      windowEnd: windowStart + windowSeconds,
    };
  }

  /** Adds one and returns the new count. */
  async increment(scope: string, key: string, windowSeconds: number, nowMs: number): Promise<number> {
    const { key: itemKey, windowEnd } = this.key(scope, key, windowSeconds, nowMs);
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: itemKey,
        UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':expires': windowEnd + 60 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return result.Attributes?.['count'] as number;
  }

  /**
   * Takes one slot if fewer than `limit` were taken in this window: one conditional write, so
   * concurrent callers cannot exceed the limit. Returns false when the limit is reached.
   */
  async tryTake(
    scope: string,
    key: string,
    limit: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<boolean> {
    const { key: itemKey, windowEnd } = this.key(scope, key, windowSeconds, nowMs);
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: itemKey,
          UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':expires': windowEnd + 60, ':limit': limit },
        }),
      ),
    );
  }

  /** Gives back a slot taken by tryTake (the attempt turned out to be a right one); best effort. */
  async giveBack(scope: string, key: string, windowSeconds: number, nowMs: number): Promise<void> {
    const { key: itemKey } = this.key(scope, key, windowSeconds, nowMs);
    await conditionalWrite(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: itemKey,
          UpdateExpression: 'ADD #count :minusOne',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        }),
      ),
    );
  }

  /** Whether a sliding-window limit has room, without taking anything. */
  async hasRoomSliding(scope: string, key: string, limit: number, windowSeconds: number, nowMs: number) {
    const current = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `throttle#${scope}#${key}`, sk: 'sliding' },
        ConsistentRead: true,
      }),
    );
    const takenAt = (current.Item?.['takenAt'] as number[] | undefined) ?? [];
    return takenAt.filter((at) => at > nowMs - windowSeconds * 1000).length < limit;
  }

  /**
   * Sliding-window limit ("at most `limit` in any `windowSeconds`"), for mail limits where a fixed
   * window would let twice the limit through around a window boundary. The item keeps the recent
   * timestamps and a version; the write is conditional on the version read (optimistic locking).
   */
  async tryTakeSliding(scope: string, key: string, limit: number, windowSeconds: number, nowMs: number) {
    const itemKey = { pk: `throttle#${scope}#${key}`, sk: 'sliding' };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.db.send(
        new GetCommand({ TableName: this.table, Key: itemKey, ConsistentRead: true }),
      );
      const version = (current.Item?.['version'] as number | undefined) ?? 0;
      const recent = ((current.Item?.['takenAt'] as number[] | undefined) ?? []).filter(
        (at) => at > nowMs - windowSeconds * 1000,
      );
      if (recent.length >= limit) return false;
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              ...itemKey,
              takenAt: [...recent, nowMs],
              version: version + 1,
              expiresAt: Math.ceil(nowMs / 1000) + windowSeconds + 60,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR version = :version',
            ExpressionAttributeValues: { ':version': version },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    // Persistent contention on one account's limiter: refusing is the safe answer for a mail limit.
    return false;
  }
}
