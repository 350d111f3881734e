import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { cancelledConditionIndexes } from '../aws/dynamodb-errors.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import type {
  AccountClaim,
  AudiencePart,
  ClaimOutcome,
  IncidentAudienceStore,
} from '../ports/incident-audience-store.js';
import type { TransactItem } from './conditional-write.js';
import { incidentKey } from './incidents-store.js';

/**
 * The listed audience of an incident (`scope: {type: "list"}`), in the records table:
 *
 * - pk `incident#<id>#aud`, sk `part#<receivedAt ms>#<chunk hash>#<nnn>`: the entries of one received chunk,
 *   split into parts of at most PART_SIZE entries (a 10,000-entry chunk of long emails would not fit one
 *   400 KB item). Parts sort in arrival order, so the dispatcher walks them with a Query cursor.
 * - pk `incident#<id>#aud`, sk `chunk#<sha256 of the chunk key>`: the guard that makes a chunk count once.
 *   Written in the same transaction as its parts and the incident's running total, so a retried chunk (same
 *   Idempotency-Key, or the same content without one) adds nothing.
 * - pk `incident#<id>#acct`, sk `<userId>`: the claim of one account by the first entry that named it. The
 *   claim, the account's effects (forced reset and/or token-version bump) and its audit event are one
 *   transaction: an account is protected exactly once, a later entry naming it is a duplicate, and a
 *   dispatcher that crashed mid-page finds the claims of the entries it already did (docs/adr/0004).
 */

/** Entries per part item: 500 emails of 254 characters stay far below DynamoDB's 400 KB item limit. */
export const PART_SIZE = 500;

const BATCH_GET_LIMIT = 100;

export class DynamoDbIncidentAudienceStore implements IncidentAudienceStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { records: string; users: string },
  ) {}

  private audiencePk(id: string) {
    return `incident#${id}#aud`;
  }

  private claimsPk(id: string) {
    return `incident#${id}#acct`;
  }

  /**
   * Stores one chunk. Returns the incident's total after it; `replayed` when this chunk key was stored
   * before (nothing is added twice). Throws NotFoundError for an unknown incident and InvalidRequestError
   * when it no longer collects.
   */
  async addChunk(input: {
    incidentId: string;
    chunkKey: string;
    entries: readonly string[];
    nowMs: number;
    readTotal: () => Promise<{ status: string; total: number } | undefined>;
  }): Promise<{ received: number; total: number; replayed: boolean }> {
    const hash = createHash('sha256').update(input.chunkKey).digest('hex');
    const pk = this.audiencePk(input.incidentId);
    const parts: TransactItem[] = [];
    for (let start = 0, n = 0; start < input.entries.length; start += PART_SIZE, n += 1) {
      parts.push({
        Put: {
          TableName: this.tables.records,
          Item: {
            pk,
            sk: `part#${String(input.nowMs).padStart(13, '0')}#${hash.slice(0, 16)}#${String(n).padStart(3, '0')}`,
            entries: input.entries.slice(start, start + PART_SIZE),
          },
        },
      });
    }
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tables.records,
          Item: { pk, sk: `chunk#${hash}`, received: input.entries.length, at: input.nowMs },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: this.tables.records,
          Key: incidentKey(input.incidentId),
          UpdateExpression: 'ADD audienceTotal :n, audienceChunks :one',
          ConditionExpression: '#status = :collecting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':n': input.entries.length, ':one': 1, ':collecting': 'collecting' },
        },
      },
      ...parts,
    ];
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      const failed = cancelledConditionIndexes(error);
      if (!failed) throw error;
      const current = await input.readTotal();
      if (!current) throw new NotFoundError('No such incident.');
      if (failed.includes(0)) return { received: input.entries.length, total: current.total, replayed: true };
      throw new InvalidRequestError(`This incident is ${current.status}: its audience is closed.`, [
        { path: 'id', message: 'Only an incident with status "collecting" takes audience entries.' },
      ]);
    }
    const after = await input.readTotal();
    return { received: input.entries.length, total: after?.total ?? input.entries.length, replayed: false };
  }

  /** The next part after `lastKey` (arrival order); `lastKey` undefined in the result means none follows. */
  async readPart(
    incidentId: string,
    lastKey: Readonly<Record<string, unknown>> | undefined,
  ): Promise<{ part: AudiencePart | undefined; lastKey: Record<string, unknown> | undefined }> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tables.records,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :part)',
        ExpressionAttributeValues: { ':pk': this.audiencePk(incidentId), ':part': 'part#' },
        ExclusiveStartKey: lastKey as Record<string, unknown> | undefined,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = result.Items?.[0];
    if (!item) return { part: undefined, lastKey: undefined };
    return {
      part: { sk: item['sk'] as string, entries: item['entries'] as string[] },
      lastKey: result.LastEvaluatedKey ? { pk: item['pk'], sk: item['sk'] } : undefined,
    };
  }

  /**
   * Claims `userId` for the entry `ref` and applies the effects with it, in one transaction (one DynamoDB
   * request per account). `already_ours`: this entry claimed it before (a resumed page), effects applied
   * then; `duplicate`: an earlier entry did; `gone`: the account was deleted since it was resolved.
   */
  async claimAndApply(input: AccountClaim): Promise<ClaimOutcome> {
    const claim: TransactItem = {
      Put: {
        TableName: this.tables.records,
        Item: { pk: this.claimsPk(input.incidentId), sk: input.userId, ref: input.ref },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
    const items: TransactItem[] = [claim];
    const effects = input.effects;
    if (effects && (effects.forcePasswordReset || effects.revokeSessions)) {
      const sets = ['updatedAt = :now'];
      if (effects.forcePasswordReset) sets.push('mustResetPassword = :true');
      items.push({
        Update: {
          TableName: this.tables.users,
          Key: { userId: input.userId },
          UpdateExpression: `SET ${sets.join(', ')}${effects.revokeSessions ? ' ADD tokenVersion :one' : ''}`,
          ConditionExpression: 'attribute_exists(userId)',
          ExpressionAttributeValues: {
            ':now': input.now.toISOString(),
            ...(effects.forcePasswordReset ? { ':true': true } : {}),
            ...(effects.revokeSessions ? { ':one': 1 } : {}),
          },
        },
      });
      if (input.event) items.push({ Put: { TableName: this.tables.records, Item: input.event } });
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return 'claimed';
    } catch (error) {
      const failed = cancelledConditionIndexes(error);
      if (!failed) throw error;
      if (failed.includes(0)) {
        const reasons = (error as { CancellationReasons?: { Item?: Record<string, { S?: string }> }[] })
          .CancellationReasons;
        const ref = reasons?.[0]?.Item?.['ref']?.S;
        if (ref === undefined) {
          const claims = await this.getClaims(input.incidentId, [input.userId]);
          return claims.get(input.userId) === input.ref ? 'already_ours' : 'duplicate';
        }
        return ref === input.ref ? 'already_ours' : 'duplicate';
      }
      return 'gone';
    }
  }

  /** userId -> the entry that claimed it, for the accounts claimed so far. */
  async getClaims(incidentId: string, userIds: readonly string[]): Promise<Map<string, string>> {
    const keys = [...new Set(userIds)].map((userId) => ({ pk: this.claimsPk(incidentId), sk: userId }));
    const found = await this.batchGet(keys, ['sk', 'ref']);
    return new Map(found.map((item) => [item['sk'] as string, item['ref'] as string]));
  }

  /** Any items of the records table by key (used for the report's delivery outcomes). */
  async batchGet(
    keys: readonly Record<string, string>[],
    attributes: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    const names = Object.fromEntries(attributes.map((name, i) => [`#a${i}`, name]));
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      let pending: Record<string, unknown>[] = keys.slice(start, start + BATCH_GET_LIMIT);
      for (let round = 0; pending.length > 0; round += 1) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** Math.min(round, 6)));
        const result = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tables.records]: {
                Keys: pending,
                ProjectionExpression: Object.keys(names).join(', '),
                ExpressionAttributeNames: names,
                ConsistentRead: true,
              },
            },
          }),
        );
        found.push(...(result.Responses?.[this.tables.records] ?? []));
        pending = (result.UnprocessedKeys?.[this.tables.records]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }
}
