import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SsoLoginCodeRecord, SsoLoginCodesStore } from '../ports/sso-login-codes-store.js';

/** One-time codes that turn a finished SSO callback into tokens, stored only as hashes: pk `sso-code#<hash>`, sk `code`. */
export class DynamoDbSsoLoginCodesStore implements SsoLoginCodesStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(codeHash: string) {
    return { pk: `sso-code#${codeHash}`, sk: 'code' };
  }

  async create(codeHash: string, record: SsoLoginCodeRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...this.key(codeHash), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** Single use under concurrency: one conditional delete that also refuses an expired code. */
  async consume(codeHash: string, nowMs: number): Promise<SsoLoginCodeRecord | undefined> {
    try {
      const result = await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key(codeHash),
          ConditionExpression: 'attribute_exists(pk) AND expiresAt > :now',
          ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return result.Attributes as SsoLoginCodeRecord | undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}
