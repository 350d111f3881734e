import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ResetTokenRecord, ResetTokensStore } from '../ports/reset-tokens-store.js';
import type { TransactItem } from './conditional-write.js';

export const RESET_TOKEN_LIFETIME_SECONDS = 30 * 60;

/** Password reset tokens, stored only as SHA-256 hashes: pk `reset#<hash>`, sk `token`. */
export class DynamoDbResetTokensStore implements ResetTokensStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(tokenHash: string) {
    return { pk: `reset#${tokenHash}`, sk: 'token' };
  }

  async create(tokenHash: string, userId: string, now: Date): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...this.key(tokenHash),
          userId,
          createdAtMs: now.getTime(),
          expiresAt: Math.floor(now.getTime() / 1000) + RESET_TOKEN_LIFETIME_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tokenHash: string): Promise<ResetTokenRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(tokenHash), ConsistentRead: true }),
    );
    return result.Item as ResetTokenRecord | undefined;
  }

  /** Marks the token used, in the caller's transaction, only if it is unused and unexpired: single use under concurrency. */
  consumeItem(tokenHash: string, now: Date): TransactItem {
    return {
      Update: {
        TableName: this.table,
        Key: this.key(tokenHash),
        UpdateExpression: 'SET usedAt = :now',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(usedAt) AND expiresAt > :nowSeconds',
        ExpressionAttributeValues: {
          ':now': now.toISOString(),
          ':nowSeconds': Math.floor(now.getTime() / 1000),
        },
      },
    };
  }
}
