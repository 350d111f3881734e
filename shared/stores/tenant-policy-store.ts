import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantPolicy, TenantPolicyField } from '../domain/tenant-policy.js';
import type { TenantPolicyStore } from '../ports/tenant-policy-store.js';
import type { TransactItem } from '../ports/transaction.js';
import { conditionalWrite } from './conditional-write.js';

const KEY = { pk: 'tenant', sk: 'policy' } as const;

export class DynamoDbTenantPolicyStore implements TenantPolicyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(): Promise<TenantPolicy> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: KEY,
        ConsistentRead: true,
        // Named attributes only: the token authorizer's IAM policy allows no other read of this table.
        ProjectionExpression: 'revokeTokensIssuedBefore, forceResetPasswordsSetBefore',
      }),
    );
    const item = result.Item ?? {};
    return {
      revokeTokensIssuedBefore: item['revokeTokensIssuedBefore'] as number | undefined,
      forceResetPasswordsSetBefore: item['forceResetPasswordsSetBefore'] as number | undefined,
    };
  }

  /**
   * A transaction condition: the policy is still the one the caller read (both cut-offs as seen, or still absent),
   * so whatever the caller decided from it (reset required or not, a session's start) holds at the commit.
   */
  unchangedItem(seen: TenantPolicy): TransactItem {
    const conditions: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    for (const field of ['revokeTokensIssuedBefore', 'forceResetPasswordsSetBefore'] as const) {
      names[`#${field}`] = field;
      const value = seen[field];
      if (value === undefined) {
        conditions.push(`attribute_not_exists(#${field})`);
      } else {
        conditions.push(`#${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    return {
      ConditionCheck: {
        TableName: this.table,
        Key: KEY,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
      },
    };
  }

  /** Moves a cut-off forward, never back, so a late or replayed incident cannot un-revoke anything. */
  async raise(field: TenantPolicyField, atMs: number): Promise<void> {
    await conditionalWrite(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: KEY,
          UpdateExpression: 'SET #field = :at, updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(#field) OR #field < :at',
          ExpressionAttributeNames: { '#field': field },
          ExpressionAttributeValues: { ':at': atMs, ':now': new Date(atMs).toISOString() },
        }),
      ),
    );
  }
}
