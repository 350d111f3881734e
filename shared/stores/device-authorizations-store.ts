import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
import type {
  DeviceAuthorizationRecord,
  DeviceAuthorizationsStore,
  PollOutcome,
} from '../ports/device-authorizations-store.js';
import { conditionHeld } from './conditional-write.js';

/**
 * One device authorization (RFC 8628) in the records table: pk `oauth-device#<user code>`, sk `device`. The
 * user code is the key because the person types it; the device code is `<user code>.<secret>` and only the
 * secret's SHA-256 is stored. Life: `pending` -> `approved` | `denied` -> `consumed` (tokens issued once).
 */
export class DynamoDbDeviceAuthorizationsStore implements DeviceAuthorizationsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(userCode: string) {
    return { pk: `oauth-device#${userCode}`, sk: 'device' };
  }

  /** False when the user code is taken by a live authorization (the caller draws another). */
  async create(record: DeviceAuthorizationRecord, nowSeconds: number): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...this.key(record.userCode), ...record },
          // An expired authorization may still sit there until TTL removes it; its code may be drawn again.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      ),
    );
  }

  async get(userCode: string): Promise<DeviceAuthorizationRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(userCode), ConsistentRead: true }),
    );
    return result.Item as DeviceAuthorizationRecord | undefined;
  }

  /**
   * Records a poll. A poll sooner than the interval after the previous one (or racing another poll) is
   * `too_fast`: the interval grows by 5 s and the poll time moves on, so a device that keeps hammering keeps
   * being told to slow down.
   */
  async poll(record: DeviceAuthorizationRecord, nowMs: number): Promise<PollOutcome> {
    const key = this.key(record.userCode);
    const tooSoon =
      record.lastPolledAtMs !== undefined && nowMs - record.lastPolledAtMs < record.intervalSeconds * 1000;
    if (!tooSoon) {
      try {
        const result = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: 'SET lastPolledAtMs = :now',
            ConditionExpression:
              record.lastPolledAtMs === undefined
                ? 'attribute_exists(pk) AND attribute_not_exists(lastPolledAtMs)'
                : 'lastPolledAtMs = :previous',
            ExpressionAttributeValues: {
              ':now': nowMs,
              ...(record.lastPolledAtMs === undefined ? {} : { ':previous': record.lastPolledAtMs }),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { kind: 'polled', record: result.Attributes as DeviceAuthorizationRecord };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET lastPolledAtMs = :now ADD intervalSeconds :five',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': nowMs, ':five': 5 },
        }),
      );
      return { kind: 'too_fast' };
    } catch (error) {
      if (isConditionFailure(error)) return { kind: 'unknown' };
      throw error;
    }
  }

  /** pending -> approved/denied by a signed-in user, once, before expiry. */
  async decide(input: {
    userCode: string;
    userId: string;
    tokenVersion: number;
    decision: 'approved' | 'denied';
    nowMs: number;
  }): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(input.userCode),
          UpdateExpression:
            'SET #status = :decision, userId = :user, approvedTokenVersion = :tv, decidedAtMs = :nowMs',
          ConditionExpression: '#status = :pending AND expiresAt > :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':decision': input.decision,
            ':pending': 'pending',
            ':user': input.userId,
            ':tv': input.tokenVersion,
            ':nowMs': input.nowMs,
            ':now': Math.floor(input.nowMs / 1000),
          },
        }),
      ),
    );
  }

  /** approved -> consumed: exactly one poll gets the tokens. */
  async consume(userCode: string, nowSeconds: number): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(userCode),
          UpdateExpression: 'SET #status = :consumed',
          ConditionExpression: '#status = :approved AND expiresAt > :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':consumed': 'consumed',
            ':approved': 'approved',
            ':now': nowSeconds,
          },
        }),
      ),
    );
  }
}
