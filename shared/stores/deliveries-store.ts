import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { cancelledConditionIndexes, isConditionFailure } from '../aws/dynamodb-errors.js';
import { sendSlotSecond } from '../domain/send-slots.js';
import type {
  ClaimOutcome,
  ClaimWithSlotOutcome,
  DeliveriesStore,
  DeliveryStatus,
} from '../ports/deliveries-store.js';
import { conditionalWrite } from './conditional-write.js';
import { sendRateSlotItem } from './send-rate-limiter.js';

const RETENTION_SECONDS = 30 * 24 * 60 * 60;

/** One item per mail, keyed by the message's business key: pk `delivery#<key>`, sk `mail`. */
export class DynamoDbDeliveriesStore implements DeliveriesStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(deliveryKey: string) {
    return { pk: `delivery#${deliveryKey}`, sk: 'mail' };
  }

  private claimItem(deliveryKey: string, now: Date) {
    return {
      TableName: this.table,
      Item: {
        ...this.key(deliveryKey),
        status: 'sending' satisfies DeliveryStatus,
        claimedAt: now.toISOString(),
        expiresAt: Math.floor(now.getTime() / 1000) + RETENTION_SECONDS,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR #status = :retryable',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':retryable': 'retryable' },
    };
  }

  /**
   * The claim and one slot of the tenant-wide send rate in one transaction: one request instead of two,
   * and a slot is never spent on a duplicate.
   */
  async claimWithSendSlot(
    deliveryKey: string,
    now: Date,
    maxPerSecond: number,
  ): Promise<ClaimWithSlotOutcome> {
    const second = sendSlotSecond(now.getTime());
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: this.claimItem(deliveryKey, now) },
            sendRateSlotItem({ table: this.table, second, count: 1, maxPerSecond }),
          ],
        }),
      );
      return { claimed: true, second };
    } catch (error) {
      const failed = cancelledConditionIndexes(error);
      if (!failed) throw error;
      if (failed.includes(0))
        return { claimed: false, status: (await this.status(deliveryKey)) ?? 'sending' };
      return { slotFull: true };
    }
  }

  /** The exactly-once gate: only one consumer, once, gets to send for a key. */
  async claim(deliveryKey: string, now: Date): Promise<ClaimOutcome> {
    try {
      await this.db.send(new PutCommand(this.claimItem(deliveryKey, now)));
      return { claimed: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.db.send(
        new GetCommand({ TableName: this.table, Key: this.key(deliveryKey), ConsistentRead: true }),
      );
      return {
        claimed: false,
        status: (existing.Item?.['status'] as DeliveryStatus | undefined) ?? 'sending',
      };
    }
  }

  async settle(
    deliveryKey: string,
    status: Exclude<DeliveryStatus, 'sending'>,
    detail: { messageId?: string; reason?: string },
    now: Date,
  ): Promise<void> {
    await conditionalWrite(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(deliveryKey),
          UpdateExpression:
            'SET #status = :status, settledAt = :now, messageId = :messageId, reason = :reason',
          ConditionExpression: '#status = :sending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':now': now.toISOString(),
            ':messageId': detail.messageId ?? null,
            ':reason': detail.reason ?? null,
            ':sending': 'sending',
          },
        }),
      ),
    );
  }

  async status(deliveryKey: string): Promise<DeliveryStatus | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(deliveryKey), ConsistentRead: true }),
    );
    return result.Item?.['status'] as DeliveryStatus | undefined;
  }
}
