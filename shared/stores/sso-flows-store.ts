import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConsumedFlow, SsoFlowRecord, SsoFlowsStore } from '../ports/sso-flows-store.js';

/** Pending SSO sign-ins, keyed by the SHA-256 of `state`: pk `sso-flow#<hash>`, sk `flow`. */
export class DynamoDbSsoFlowsStore implements SsoFlowsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(stateHash: string) {
    return { pk: `sso-flow#${stateHash}`, sk: 'flow' };
  }

  async create(stateHash: string, flow: SsoFlowRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...this.key(stateHash), ...flow },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /**
   * Deletes the flow only when the browser's cookie matches and it has not expired: one conditional delete,
   * so a state (and the code that came with it) is usable once, by the browser that started it.
   */
  async consume(stateHash: string, bindingHash: string, nowMs: number): Promise<ConsumedFlow> {
    try {
      const result = await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key(stateHash),
          ConditionExpression: 'attribute_exists(pk) AND bindingHash = :binding AND expiresAt > :now',
          ExpressionAttributeValues: { ':binding': bindingHash, ':now': Math.floor(nowMs / 1000) },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'ok', flow: result.Attributes as SsoFlowRecord };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item;
      const expired =
        old?.['bindingHash']?.S === bindingHash &&
        Number(old?.['expiresAt']?.N ?? 0) <= Math.floor(nowMs / 1000);
      return expired ? { kind: 'expired' } : { kind: 'invalid' };
    }
  }
}
