import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  AuthorizationRequestRecord,
  AuthorizationRequestsStore,
  RequestCompletion,
} from '../ports/authorization-requests-store.js';
import { conditionHeld } from './conditional-write.js';

/**
 * One authorization code flow (RFC 6749 4.1 + PKCE) from /oauth2/authorize to the token exchange, as one item
 * in the records table: pk `oauth-authz#<SHA-256 of the request id>`, sk `request`. Its life:
 * `pending` (validated request, waiting for the user) -> `completed` (the user signed in; a code was issued)
 * -> `redeemed` (the code was exchanged; the session it started is recorded, so a replayed code can end it).
 * The request id and the code are never stored, only their hashes.
 */
export class DynamoDbAuthorizationRequestsStore implements AuthorizationRequestsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(requestHash: string) {
    return { pk: `oauth-authz#${requestHash}`, sk: 'request' };
  }

  async create(record: AuthorizationRequestRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...this.key(record.requestHash), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(requestHash: string): Promise<AuthorizationRequestRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(requestHash), ConsistentRead: true }),
    );
    return result.Item as AuthorizationRequestRecord | undefined;
  }

  /** pending -> completed, once, before the request expires. False when someone else completed it first. */
  async complete(input: RequestCompletion): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(input.requestHash),
          UpdateExpression:
            'SET #status = :completed, userId = :user, approvingSessionId = :sid, codeHash = :code, codeExpiresAtMs = :codeExpires, completedAtMs = :completedAt',
          ConditionExpression: '#status = :pending AND expiresAt > :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':completed': 'completed',
            ':pending': 'pending',
            ':user': input.userId,
            ':sid': input.approvingSessionId,
            ':code': input.codeHash,
            ':codeExpires': input.codeExpiresAtMs,
            ':completedAt': input.completedAtMs,
            ':now': input.nowSeconds,
          },
        }),
      ),
    );
  }

  /** completed -> redeemed with this code, once, within the code's life. False when it was not redeemable. */
  async redeem(input: { requestHash: string; codeHash: string; nowMs: number }): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(input.requestHash),
          UpdateExpression: 'SET #status = :redeemed',
          ConditionExpression: '#status = :completed AND codeHash = :code AND codeExpiresAtMs > :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':redeemed': 'redeemed',
            ':completed': 'completed',
            ':code': input.codeHash,
            ':now': input.nowMs,
          },
        }),
      ),
    );
  }

  async recordSession(requestHash: string, sessionId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.key(requestHash),
        UpdateExpression: 'SET sessionId = :sid',
        ExpressionAttributeValues: { ':sid': sessionId },
      }),
    );
  }
}
