import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

export interface SsoFlowRecord {
  readonly providerId: string;
  /** PKCE verifier: useless without the authorization code, which only the browser and provider see. */
  readonly codeVerifier: string;
  readonly nonce: string;
  /** SHA-256 of the random value in the browser's HttpOnly cookie: binds the flow to the browser that started it. */
  readonly bindingHash: string;
  readonly returnTo: string;
  readonly deviceName: string | null;
  /** Set when a signed-in owner links the provider from /security. */
  readonly linkUserId: string | null;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export type ConsumedFlow =
  | { readonly kind: 'ok'; readonly flow: SsoFlowRecord }
  | { readonly kind: 'expired' }
  /** Unknown or used state, or a browser without the matching cookie. */
  | { readonly kind: 'invalid' };

/** Pending SSO sign-ins, keyed by the SHA-256 of `state`: pk `sso-flow#<hash>`, sk `flow`. */
export class SsoFlowsStore {
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
