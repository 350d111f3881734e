import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { counterName } from '../domain/incident.js';
import { sendSlotSecond } from '../domain/send-slots.js';
import type {
  ClaimRejection,
  IncidentDeliveriesStore,
  IncidentDeliveryStatus,
  RecipientOutcome,
} from '../ports/incident-deliveries-store.js';
import type { TransactItem } from './conditional-write.js';
import type { DynamoDbIncidentsStore } from './incidents-store.js';
import { sendRateSlotItem } from './send-rate-limiter.js';

/** Long enough to outlive the slowest campaign at a sandbox rate, then TTL cleans up. */
const RETENTION_SECONDS = 90 * 24 * 60 * 60;

/** Layout of the claim transaction: the indexes CancellationReasons refers to. */
export const CLAIM_GUARD_INDEX = 0;
export const CLAIM_RATE_INDEX = 1;
export const CLAIM_FIRST_RECIPIENT_INDEX = 2;

const CONTENTION_CODES = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/**
 * Reads a cancelled claim transaction's reasons. Returns undefined for reasons that are not about our
 * conditions or contention (a validation error is a bug and must surface).
 */
export function parseClaimCancellation(
  reasons: readonly { Code?: string | undefined }[],
  recipientCount: number,
): ClaimRejection | undefined {
  const code = (index: number) => reasons[index]?.Code ?? 'None';
  const taken: number[] = [];
  for (let i = 0; i < recipientCount; i += 1) {
    if (code(CLAIM_FIRST_RECIPIENT_INDEX + i) === 'ConditionalCheckFailed') taken.push(i);
  }
  const rejection: ClaimRejection = {
    cancelled: code(CLAIM_GUARD_INDEX) === 'ConditionalCheckFailed',
    rateFull: code(CLAIM_RATE_INDEX) === 'ConditionalCheckFailed',
    taken,
    contended: reasons.some((reason) => CONTENTION_CODES.has(reason.Code ?? '')),
  };
  const explained = rejection.cancelled || rejection.rateFull || taken.length > 0 || rejection.contended;
  return explained ? rejection : undefined;
}

/**
 * Per-recipient delivery claims of campaign mail (pk `delivery#incident#<id>#<round>#<userId>`, sk `mail`,
 * beside the other deliveries of docs/adr/0003-exactly-once-mail.md) and the notifier counters on the
 * incident's shards. A 50-recipient batch costs two transactions: claim (with the cancel check and the
 * send-rate slot) and settle (with the counters).
 */
export class DynamoDbIncidentDeliveriesStore implements IncidentDeliveriesStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly incidents: DynamoDbIncidentsStore,
    private readonly maxSendsPerSecond: number,
  ) {}

  claimKey(incidentId: string, round: number, userId: string) {
    return { pk: `delivery#incident#${incidentId}#${round}#${userId}`, sk: 'mail' };
  }

  /**
   * One transaction: the incident is not cancelled (its shard's flag), this second has room for every
   * recipient, and each recipient is claimed (new, or released as retryable). All or nothing, so a batch
   * never takes rate slots for mail it will not send, and a cancelled incident claims nobody.
   */
  async claim(input: {
    incidentId: string;
    round: number;
    shard: number;
    userIds: readonly string[];
    now: Date;
  }): Promise<{ claimed: true; second: number } | { claimed: false; rejection: ClaimRejection }> {
    const nowMs = input.now.getTime();
    const second = sendSlotSecond(nowMs);
    const guard: TransactItem = {
      Update: {
        TableName: this.table,
        Key: this.incidents.shardKey(input.incidentId, input.shard),
        UpdateExpression: 'ADD #claimed :n SET activityAt = :now',
        ConditionExpression: 'attribute_not_exists(cancelled)',
        ExpressionAttributeNames: { '#claimed': counterName(input.round, 'claimed') },
        ExpressionAttributeValues: { ':n': input.userIds.length, ':now': nowMs },
      },
    };
    const rate = sendRateSlotItem({
      table: this.table,
      second,
      count: input.userIds.length,
      maxPerSecond: this.maxSendsPerSecond,
    });
    const claims: TransactItem[] = input.userIds.map((userId) => ({
      Put: {
        TableName: this.table,
        Item: {
          ...this.claimKey(input.incidentId, input.round, userId),
          status: 'sending' satisfies IncidentDeliveryStatus,
          claimedAt: input.now.toISOString(),
          expiresAt: Math.floor(nowMs / 1000) + RETENTION_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #status = :retryable',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':retryable': 'retryable' },
      },
    }));
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [guard, rate, ...claims],
          // Makes an SDK retry of a transaction that did commit a no-op instead of a "someone else claimed it".
          ClientRequestToken: randomUUID(),
        }),
      );
      return { claimed: true, second };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const rejection = parseClaimCancellation(error.CancellationReasons ?? [], input.userIds.length);
      if (!rejection) throw error;
      return { claimed: false, rejection };
    }
  }

  /**
   * One transaction: every claimed recipient gets its final (or retryable) status, and the shard's counters
   * move by the same amounts, so counts and claims never disagree. No conditions: only the claimer writes
   * a claim in `sending`.
   */
  async settle(input: {
    incidentId: string;
    round: number;
    shard: number;
    outcomes: readonly RecipientOutcome[];
    now: Date;
  }): Promise<void> {
    if (input.outcomes.length === 0) return;
    const count = (status: RecipientOutcome['status']) =>
      input.outcomes.filter((o) => o.status === status).length;
    const updates: TransactItem[] = input.outcomes.map((outcome) => ({
      Update: {
        TableName: this.table,
        Key: this.claimKey(input.incidentId, input.round, outcome.userId),
        UpdateExpression: 'SET #status = :status, settledAt = :now, messageId = :messageId, reason = :reason',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': outcome.status,
          ':now': input.now.toISOString(),
          ':messageId': outcome.messageId ?? null,
          ':reason': outcome.reason ?? null,
        },
      },
    }));
    const counters: TransactItem = {
      Update: {
        TableName: this.table,
        Key: this.incidents.shardKey(input.incidentId, input.shard),
        UpdateExpression: 'ADD #sent :sent, #failed :failed, #released :released SET activityAt = :now',
        ExpressionAttributeNames: {
          '#sent': counterName(input.round, 'sent'),
          '#failed': counterName(input.round, 'failed'),
          '#released': counterName(input.round, 'released'),
        },
        ExpressionAttributeValues: {
          ':sent': count('sent'),
          ':failed': count('failed'),
          ':released': count('retryable'),
          ':now': input.now.getTime(),
        },
      },
    };
    await this.db.send(
      new TransactWriteCommand({ TransactItems: [...updates, counters], ClientRequestToken: randomUUID() }),
    );
  }

  /** Recipients of a cancelled incident that were never claimed: counted as skipped. */
  async countSkipped(input: { incidentId: string; round: number; shard: number; count: number; now: Date }) {
    if (input.count === 0) return;
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.incidents.shardKey(input.incidentId, input.shard),
        UpdateExpression: 'ADD #skipped :n SET activityAt = :now',
        ExpressionAttributeNames: { '#skipped': counterName(input.round, 'skipped') },
        ExpressionAttributeValues: { ':n': input.count, ':now': input.now.getTime() },
      }),
    );
  }
}
