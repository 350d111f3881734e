import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
import { delayUntilNextSecond, msUntilSendSecond, sendSlotSecond } from '../domain/send-slots.js';
import type { Clock } from '../ports/clock.js';
import type { SendRateLimiter } from '../ports/send-rate-limiter.js';
import type { TransactItem } from './conditional-write.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The conditional ADD that takes `count` sends in one wall-clock second (pk `send-rate`, sk `<epoch second>`),
 * as a transaction item: campaign batches take their slots in the same transaction as their delivery claims,
 * so slots are only spent on mail that will really be sent. Fails its condition when the second is full.
 */
export function sendRateSlotItem(input: {
  table: string;
  second: number;
  count: number;
  maxPerSecond: number;
}): TransactItem {
  return {
    Update: {
      TableName: input.table,
      Key: { pk: 'send-rate', sk: String(input.second) },
      UpdateExpression: 'ADD #count :n SET expiresAt = :expires',
      ConditionExpression: 'attribute_not_exists(#count) OR #count <= :room',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: {
        ':n': input.count,
        ':room': input.maxPerSecond - input.count,
        ':expires': input.second + 120,
      },
    },
  };
}

/**
 * One counter item per wall-clock second, taken with a conditional ADD: concurrent notifiers on any number
 * of Lambdas cannot exceed `maxPerSecond`.
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
      if (count > maxPerSecond)
        throw new Error(`Cannot send ${count} mails at once under a rate of ${maxPerSecond}/s`);
      for (;;) {
        const nowMs = clock.now().getTime();
        const second = sendSlotSecond(nowMs);
        try {
          await db.send(new UpdateCommand(sendRateSlotItem({ table, second, count, maxPerSecond }).Update!));
          await sleep(msUntilSendSecond(second, clock.now().getTime()));
          return;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          // This second is full: wait for the next one.
          await sleep(delayUntilNextSecond(nowMs));
        }
      }
    },
  };
}
