import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';

export const SESSION_IDLE_LIFETIME_SECONDS = 30 * 24 * 60 * 60;

/** One signed-in device. Deleting the item ends the session; its tokens then stop working. */
export interface SessionRecord {
  readonly userId: string;
  readonly sessionId: string;
  readonly deviceName: string | null;
  /** SHA-256 of the current refresh token; the token itself is never stored. */
  readonly refreshTokenHash: string;
  /** SHA-256 of the refresh token this one replaced: seeing it again means a stolen token was replayed. */
  readonly previousRefreshTokenHash?: string;
  /** The user's token version when the session started; revoke-all makes it stale. */
  readonly tokenVersion: number;
  readonly createdAt: string;
  readonly createdAtMs: number;
  readonly lastUsedAt: string;
  /** OAuth sessions: the client the refresh token is bound to; absent for first-party (JSON login) sessions. */
  readonly clientId?: string;
  /** OAuth sessions: the scopes granted, space-separated, carried into every access token of the session. */
  readonly scope?: string;
  /** Epoch seconds: 30 days after last use. Checked in code; TTL only cleans up. */
  readonly expiresAt: number;
}

export type RotateOutcome = 'rotated' | 'reused' | 'unknown';

export class SessionsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(session: SessionRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: session,
        ConditionExpression: 'attribute_not_exists(sessionId)',
      }),
    );
  }

  async get(userId: string, sessionId: string): Promise<SessionRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { userId, sessionId }, ConsistentRead: true }),
    );
    return result.Item as SessionRecord | undefined;
  }

  /**
   * Swaps the refresh token hash only if the presented token is the current one, so two concurrent
   * refreshes with the same token cannot both succeed.
   */
  async rotateRefreshToken(input: {
    userId: string;
    sessionId: string;
    presentedHash: string;
    newHash: string;
    now: Date;
  }): Promise<SessionRecord | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId: input.userId, sessionId: input.sessionId },
          UpdateExpression:
            'SET refreshTokenHash = :new, previousRefreshTokenHash = :presented, lastUsedAt = :now, expiresAt = :expires',
          ConditionExpression: 'refreshTokenHash = :presented',
          ExpressionAttributeValues: {
            ':new': input.newHash,
            ':presented': input.presentedHash,
            ':now': input.now.toISOString(),
            ':expires': Math.floor(input.now.getTime() / 1000) + SESSION_IDLE_LIFETIME_SECONDS,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as SessionRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Returns whether a session was there to end. */
  async delete(userId: string, sessionId: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { userId, sessionId },
          ConditionExpression: 'attribute_exists(sessionId)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async listForUser(userId: string): Promise<SessionRecord[]> {
    const sessions: SessionRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'userId = :userId',
          ExpressionAttributeValues: { ':userId': userId },
          ExclusiveStartKey: startKey,
        }),
      );
      sessions.push(...((page.Items ?? []) as SessionRecord[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return sessions;
  }
}

export function sessionIsExpired(session: Pick<SessionRecord, 'expiresAt'>, now: Date): boolean {
  return session.expiresAt * 1000 <= now.getTime();
}
