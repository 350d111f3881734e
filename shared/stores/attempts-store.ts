import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
import { type ProgressiveDelay, progressiveDelayMs } from '../domain/attempt-limits.js';
import type { AttemptCounters, CounterRef, GateResult } from '../ports/attempt-counters.js';
import type { TransactItem } from '../ports/transaction.js';
import { conditionHeld } from './conditional-write.js';

const KNOWN_PREFIX = 'known#';
/** Optimistic rounds of the gate before a contended attempt is refused (refusing is the safe answer). */
const GATE_ROUNDS = 4;

/**
 * The attempt limiter's counters in the records table: pk `attempts#<subject>`, sk `<counter>#<window
 * start>` (a count, and for gated counters the time the gate is shut until), and `known#<source>` for the
 * sources the account has fully signed in from. One partition per subject, so a reset clears it with one
 * query (docs/adr/0006-attempt-limiter.md).
 */
export class DynamoDbAttemptCounters implements AttemptCounters {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(ref: Pick<CounterRef, 'subject' | 'counter' | 'windowStart'>) {
    return { pk: `attempts#${ref.subject}`, sk: `${ref.counter}#${ref.windowStart}` };
  }

  async takeBelow(ref: CounterRef, limit: number): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(ref),
          UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires': ref.expiresAt },
        }),
      ),
    );
  }

  async takeThroughGate(ref: CounterRef, nowMs: number, delay: ProgressiveDelay): Promise<GateResult> {
    const key = this.key(ref);
    // Within the free allowance no delay is written, so one blind conditional ADD does it (no contention).
    if (delay.freeChecks >= 2) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
            ConditionExpression:
              '(attribute_not_exists(#count) OR #count < :free) AND (attribute_not_exists(shutUntil) OR shutUntil <= :now)',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: {
              ':one': 1,
              ':free': delay.freeChecks - 1,
              ':now': nowMs,
              ':expires': ref.expiresAt,
            },
          }),
        );
        return { taken: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    for (let round = 0; round < GATE_ROUNDS; round += 1) {
      const current = await this.db.send(
        new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
      );
      const count = (current.Item?.['count'] as number | undefined) ?? 0;
      const shutUntil = (current.Item?.['shutUntil'] as number | undefined) ?? 0;
      if (shutUntil > nowMs) return { taken: false, retryAtMs: shutUntil };
      try {
        // Conditional on the count read, so the delay written is the one for exactly this check.
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: 'SET #count = :next, shutUntil = :shutUntil, expiresAt = :expires',
            ConditionExpression:
              count === 0
                ? 'attribute_not_exists(#count) OR #count = :zero'
                : '#count = :count AND (attribute_not_exists(shutUntil) OR shutUntil <= :now)',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: {
              ':next': count + 1,
              ':shutUntil': nowMs + progressiveDelayMs(count + 1, delay),
              ':expires': ref.expiresAt,
              ...(count === 0 ? { ':zero': 0 } : { ':count': count, ':now': nowMs }),
            },
          }),
        );
        return { taken: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return { taken: false, retryAtMs: nowMs + 1000 };
  }

  async giveBack(ref: CounterRef): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(ref),
          UpdateExpression: 'ADD #count :minusOne',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        }),
      );
    } catch (error) {
      // Already cleared (a reset or sign-in raced this attempt): nothing to give back.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async reset(ref: CounterRef): Promise<void> {
    await this.db.send(new DeleteCommand(this.resetItem(ref).Delete!));
  }

  async clear(subject: string): Promise<void> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `attempts#${subject}` },
          ProjectionExpression: 'pk, sk',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      const keys = (page.Items ?? []).filter((item) => !String(item['sk']).startsWith(KNOWN_PREFIX));
      for (let i = 0; i < keys.length; i += 25) {
        let requests: Record<string, unknown>[] = keys
          .slice(i, i + 25)
          .map((item) => ({ DeleteRequest: { Key: { pk: item['pk'], sk: item['sk'] } } }));
        for (let tries = 0; requests.length > 0 && tries < 5; tries += 1) {
          const result = await this.db.send(
            new BatchWriteCommand({ RequestItems: { [this.table]: requests } }),
          );
          requests = (result.UnprocessedItems?.[this.table] as Record<string, unknown>[] | undefined) ?? [];
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async isKnownSource(subject: string, source: string, nowMs: number): Promise<boolean> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `attempts#${subject}`, sk: `${KNOWN_PREFIX}${source}` },
      }),
    );
    // TTL deletion lags by up to days: the expiry decides, not the item's presence.
    return ((result.Item?.['expiresAt'] as number | undefined) ?? 0) * 1000 > nowMs;
  }

  async rememberSource(subject: string, source: string, expiresAt: number): Promise<void> {
    await this.db.send(new PutCommand(this.rememberSourceItem(subject, source, expiresAt).Put!));
  }

  rememberSourceItem(subject: string, source: string, expiresAt: number): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: { pk: `attempts#${subject}`, sk: `${KNOWN_PREFIX}${source}`, expiresAt },
      },
    };
  }

  resetItem(ref: CounterRef): TransactItem {
    return { Delete: { TableName: this.table, Key: this.key(ref) } };
  }
}
