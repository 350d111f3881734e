import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
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
 * Slots are counted per wall-clock second, and a mail must also go out in the second whose slot it holds:
 * a slot taken late in second S whose mail leaves in S+1 would let S+1 carry twice the rate. So slots are
 * taken for the second that starts within this lead time, and the sender waits for it to begin.
 */
export const SEND_SLOT_LEAD_MS = 250;

export function sendSlotSecond(nowMs: number): number {
  return Math.floor((nowMs + SEND_SLOT_LEAD_MS) / 1000);
}

/**
 * After taking a slot of `second`: waits for that second to begin. When the claim was so slow that its second
 * is already over, the mail goes at once: its slot was still counted, so the rate over any few seconds stays
 * bounded, and taking a fresh slot would cost a request per late batch.
 */
export async function waitForSendSecond(second: number, clock: Clock): Promise<void> {
  const nowMs = clock.now().getTime();
  if (nowMs < second * 1000) await sleep(second * 1000 - nowMs);
}

/** How long to wait for the next second, with jitter so waiting notifiers don't stampede. */
export function delayUntilNextSecond(nowMs: number): number {
  return 1000 - (nowMs % 1000) + Math.floor(Math.random() * 50);
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
          await waitForSendSecond(second, clock);
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
