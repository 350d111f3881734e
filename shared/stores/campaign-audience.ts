import { BatchGetCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { identifierKey } from '../domain/identifiers.js';
import type { AudienceMember, CampaignAudience } from '../ports/campaign-audience.js';

const MEMBER_ATTRIBUTES = [
  'userId',
  'email',
  'authMethod',
  'passwordSetAt',
  'mustResetPassword',
  'createdAt',
];

/** Aliased projection: whatever DynamoDB's reserved-word list holds, attribute names never collide with it. */
function projection(attributes: readonly string[]) {
  return {
    ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(attributes.map((name, i) => [`#a${i}`, name])),
  };
}
const BATCH_GET_LIMIT = 100;
const MAX_UNPROCESSED_ROUNDS = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Read-only view of the users and identifiers tables for campaigns: a parallel Scan for `scope: all` and
 * batched lookups for scoped lists. Reads only the attributes a campaign needs, never hashes or secrets.
 * (DynamoDbUsersStore owns writes to these tables; this module never writes.)
 */
export class DynamoDbCampaignAudience implements CampaignAudience {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { users: string; identifiers: string },
  ) {}

  /** One page of one Scan segment; `lastKey` undefined means the segment is finished. */
  async scanPage(input: {
    segment: number;
    totalSegments: number;
    startKey: Readonly<Record<string, unknown>> | undefined;
    limit: number;
  }): Promise<{ members: AudienceMember[]; lastKey: Record<string, unknown> | undefined }> {
    const result = await this.db.send(
      new ScanCommand({
        TableName: this.tables.users,
        Segment: input.segment,
        TotalSegments: input.totalSegments,
        ExclusiveStartKey: input.startKey as Record<string, unknown> | undefined,
        Limit: input.limit,
        ...projection(MEMBER_ATTRIBUTES),
      }),
    );
    return { members: (result.Items ?? []) as AudienceMember[], lastKey: result.LastEvaluatedKey };
  }

  /** Accounts by id; unknown ids are simply absent from the map. */
  async getUsers(userIds: readonly string[]): Promise<Map<string, AudienceMember>> {
    const items = await this.batchGet(
      this.tables.users,
      userIds.map((userId) => ({ userId })),
      MEMBER_ATTRIBUTES,
    );
    return new Map(items.map((item) => [item['userId'] as string, item as unknown as AudienceMember]));
  }

  /** Normalised email -> userId through the uniqueness guards; unknown emails are absent. */
  async resolveEmails(emails: readonly string[]): Promise<Map<string, string>> {
    const items = await this.batchGet(
      this.tables.identifiers,
      emails.map((email) => ({ identifier: identifierKey({ kind: 'email', value: email }) })),
      ['identifier', 'userId'],
    );
    return new Map(
      items.map((item) => [(item['identifier'] as string).slice('email#'.length), item['userId'] as string]),
    );
  }

  /**
   * External id (from a user import) -> userId through the identifiers table's `externalId#<externalId>` guards;
   * unknown ids are absent.
   */
  async resolveExternalIds(externalIds: readonly string[]): Promise<Map<string, string>> {
    const items = await this.batchGet(
      this.tables.identifiers,
      externalIds.map((externalId) => ({ identifier: `externalId#${externalId}` })),
      ['identifier', 'userId'],
    );
    return new Map(
      items.map((item) => [
        (item['identifier'] as string).slice('externalId#'.length),
        item['userId'] as string,
      ]),
    );
  }

  private async batchGet(
    table: string,
    keys: readonly Record<string, string>[],
    attributes: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      let pending: Record<string, unknown>[] = keys.slice(start, start + BATCH_GET_LIMIT);
      // BatchGetItem may return part of the keys as unprocessed under load: ask again for those, with backoff.
      for (let round = 0; pending.length > 0; round += 1) {
        if (round >= MAX_UNPROCESSED_ROUNDS) {
          throw Object.assign(new Error(`BatchGetItem left ${pending.length} keys unprocessed`), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
        if (round > 0) await sleep(50 * 2 ** round);
        const result = await this.db.send(
          new BatchGetCommand({
            RequestItems: { [table]: { Keys: pending, ...projection(attributes), ConsistentRead: true } },
          }),
        );
        found.push(...(result.Responses?.[table] ?? []));
        pending = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }
}
