import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
import type { Clock } from '../ports/clock.js';

/** Port: keeps every notifier together under the account's SES sending quota. */
export interface SendRateLimiter {
  /** Waits until `count` sends fit in the tenant-wide per-second budget, then takes them. */
  acquire(count: number): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One counter item per wall-clock second (pk `send-rate`, sk `<epoch second>`), taken with a
 * conditional ADD: concurrent notifiers on any number of Lambdas cannot exceed `maxPerSecond`.
 */
export function createDynamoSendRateLimiter(deps: {
  db: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  maxPerSecond: number;
}): SendRateLimiter {
  const { db, table, clock, maxPerSecond } = deps;
  return {
    async acquire(count) {
      if (count > maxPerSecond) throw new Error(`Cannot send ${count} mails at once under a rate of ${maxPerSecond}/s`);
      for (;;) {
        const nowMs = clock.now().getTime();
        const second = Math.floor(nowMs / 1000);
        try {
          await db.send(
            new UpdateCommand({
              TableName: table,
              Key: { pk: 'send-rate', sk: String(second) },
              UpdateExpression: 'ADD #count :n SET expiresAt = :expires',
              ConditionExpression: 'attribute_not_exists(#count) OR #count <= :room',
              ExpressionAttributeNames: { '#count': 'count' },
              ExpressionAttributeValues: { ':n': count, ':room': maxPerSecond - count, ':expires': second + 120 },
            }),
          );
          return;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          // This second is full: wait for the next one, with jitter so waiting notifiers don't stampede.
          await sleep(1000 - (nowMs % 1000) + Math.floor(Math.random() * 50));
        }
      }
    },
  };
}
