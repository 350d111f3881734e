import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
import type { OAuthClient } from '../domain/oauth.js';
import type { OAuthClientsStore } from '../ports/oauth-clients-store.js';
import { conditionHeld } from './conditional-write.js';
import { queryWholePartition } from './partition-query.js';

/**
 * The OAuth client registry in the records table: one partition `oauth-clients`, sk `<clientId>`. A registry
 * holds tens of clients, so one partition lists them with a single Query and stays far from its limits.
 */
export class DynamoDbOAuthClientsStore implements OAuthClientsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(clientId: string) {
    return { pk: 'oauth-clients', sk: clientId };
  }

  async create(client: OAuthClient): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...this.key(client.clientId), ...client },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(clientId: string): Promise<OAuthClient | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(clientId), ConsistentRead: true }),
    );
    return result.Item ? strip(result.Item) : undefined;
  }

  async list(): Promise<OAuthClient[]> {
    return (await queryWholePartition(this.db, this.table, 'oauth-clients')).map((item) => strip(item));
  }

  /** Returns whether there was a client to delete. */
  async delete(clientId: string): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key(clientId),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      ),
    );
  }

  /** Replaces a confidential client's secret hash and bumps its credential version; undefined if no such client. */
  async rotateSecret(clientId: string, secretHash: string): Promise<OAuthClient | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(clientId),
          UpdateExpression: 'SET secretHash = :hash ADD credentialVersion :one',
          ConditionExpression: 'attribute_exists(pk) AND #type = :confidential',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':hash': secretHash, ':one': 1, ':confidential': 'confidential' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes ? strip(result.Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}

function strip(item: Record<string, unknown>): OAuthClient {
  const { pk: _pk, sk: _sk, ...client } = item;
  return client as unknown as OAuthClient;
}
