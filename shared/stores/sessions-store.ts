import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { cancelledConditionIndexes } from '../aws/dynamodb-errors.js';
import { SESSION_IDLE_LIFETIME_SECONDS, type SessionRecord } from '../domain/session.js';
import type { RefreshRotation, RotatedRefreshToken, SessionsStore } from '../ports/sessions-store.js';
import type { TransactItem } from '../ports/transaction.js';
import { conditionHeld } from './conditional-write.js';

/**
 * Every refresh token a rotation replaced gets an item in the records table, `refresh#<sha256>/rotated`, that
 * points at its session (docs/adr/0001-token-design.md): presenting any older generation is recognised as reuse
 * and ends the session, while a random string that merely names a session id cannot end it. The item lives as
 * long as the session could have lived without use after that rotation.
 */
const rotatedKey = (hash: string) => ({ pk: `refresh#${hash}`, sk: 'rotated' });

export class DynamoDbSessionsStore implements SessionsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** The records table, where rotated-away refresh tokens are remembered. */
    private readonly recordsTable: string,
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

  /**
   * Starts a session together with the caller's other writes (its security event, the attempt limiter's records)
   * and conditions (the tenant policy it decided on is still the current one), in one transaction. False when a
   * condition failed: nothing was written.
   */
  async createTogether(session: SessionRecord, otherItems: readonly TransactItem[]): Promise<boolean> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: session,
                ConditionExpression: 'attribute_not_exists(sessionId)',
              },
            },
            ...otherItems,
          ],
        }),
      );
      return true;
    } catch (error) {
      if (cancelledConditionIndexes(error)) return false;
      throw error;
    }
  }

  async get(userId: string, sessionId: string): Promise<SessionRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { userId, sessionId }, ConsistentRead: true }),
    );
    return result.Item as SessionRecord | undefined;
  }

  /**
   * Swaps the refresh token only if the presented token is still the current one (so two concurrent refreshes
   * cannot both rotate), and in the same transaction remembers the presented token as rotated away. False when
   * another refresh (or the end of the session) came first.
   */
  async rotateRefreshToken(input: RefreshRotation): Promise<boolean> {
    const nowMs = input.now.getTime();
    const expiresAt = Math.floor(nowMs / 1000) + SESSION_IDLE_LIFETIME_SECONDS;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { userId: input.userId, sessionId: input.sessionId },
                UpdateExpression:
                  'SET refreshTokenHash = :new, previousRefreshTokenHash = :presented, rotatedAtMs = :nowMs, ' +
                  'graceRefreshToken = :sealed, refreshGeneration = :generation, lastUsedAt = :now, expiresAt = :expires',
                ConditionExpression: 'refreshTokenHash = :presented',
                ExpressionAttributeValues: {
                  ':new': input.newHash,
                  ':presented': input.presentedHash,
                  ':nowMs': nowMs,
                  ':sealed': input.graceRefreshToken,
                  ':generation': input.generation,
                  ':now': input.now.toISOString(),
                  ':expires': expiresAt,
                },
              },
            },
            {
              Put: {
                TableName: this.recordsTable,
                Item: {
                  ...rotatedKey(input.presentedHash),
                  userId: input.userId,
                  sessionId: input.sessionId,
                  generation: input.generation - 1,
                  rotatedAt: input.now.toISOString(),
                  expiresAt,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (cancelledConditionIndexes(error)) return false;
      throw error;
    }
    return true;
  }

  /** The rotated-away refresh token with this hash, if it belonged to this session. */
  async findRotated(
    userId: string,
    sessionId: string,
    hash: string,
  ): Promise<RotatedRefreshToken | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.recordsTable, Key: rotatedKey(hash), ConsistentRead: true }),
    );
    const item = result.Item;
    if (!item || item['userId'] !== userId || item['sessionId'] !== sessionId) return undefined;
    return { userId, sessionId, generation: item['generation'] as number };
  }

  /** Returns whether a session was there to end. */
  async delete(userId: string, sessionId: string): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { userId, sessionId },
          ConditionExpression: 'attribute_exists(sessionId)',
        }),
      ),
    );
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
