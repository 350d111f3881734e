import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { cancelledConditionIndexes } from '../aws/dynamodb-errors.js';
import { sha256Hex } from '../crypto/secrets.js';
import type { FederatedIdentity } from '../domain/sso.js';
import type { LinkOutcome, SsoLink, SsoLinksStore } from '../ports/sso-links-store.js';

/**
 * Links between provider identities and accounts, in the records table (docs/adr/0002-table-key-layout.md):
 * `sso-link#<sha256(iss, sub)>/link` -> userId makes iss+sub unique, and `sso-links#<userId>/<providerId>` lists
 * an account's links and allows one identity per provider per account. Both are written in one transaction
 * with a condition on the user item.
 */
export class DynamoDbSsoLinksStore implements SsoLinksStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { records: string; users: string },
  ) {}

  private identityKey(identity: Pick<FederatedIdentity, 'issuer' | 'subject'>) {
    // Hashed because `sub` may be up to 255 characters of anything; the pair is what identifies a person.
    return { pk: `sso-link#${sha256Hex(`${identity.issuer}\n${identity.subject}`)}`, sk: 'link' };
  }

  async findUserId(identity: Pick<FederatedIdentity, 'issuer' | 'subject'>): Promise<string | undefined> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tables.records,
        Key: this.identityKey(identity),
        ConsistentRead: true,
      }),
    );
    return result.Item?.['userId'] as string | undefined;
  }

  async link(
    userId: string,
    providerId: string,
    identity: FederatedIdentity,
    now: Date,
    options: { requireSsoAccount: boolean },
  ): Promise<LinkOutcome> {
    const linkedAt = now.toISOString();
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.records,
                Item: { ...this.identityKey(identity), userId, providerId, linkedAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tables.records,
                Item: { pk: `sso-links#${userId}`, sk: providerId, providerId, linkedAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              ConditionCheck: {
                TableName: this.tables.users,
                Key: { userId },
                // An email match links only to an SSO account: checked in the same transaction, so an account
                // that changed in between is never linked by its email.
                ConditionExpression: options.requireSsoAccount
                  ? 'attribute_exists(userId) AND authMethod = :sso'
                  : 'attribute_exists(userId)',
                ...(options.requireSsoAccount ? { ExpressionAttributeValues: { ':sso': 'sso' } } : {}),
              },
            },
          ],
        }),
      );
      return 'linked';
    } catch (error) {
      const failed = cancelledConditionIndexes(error);
      if (!failed) throw error;
      if (failed.includes(0)) return 'identity_taken';
      if (failed.includes(1)) return 'provider_taken';
      return 'account_mismatch';
    }
  }

  async listForUser(userId: string): Promise<SsoLink[]> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tables.records,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `sso-links#${userId}` },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map((item) => ({
      providerId: item['providerId'] as string,
      linkedAt: item['linkedAt'] as string,
    }));
  }
}
