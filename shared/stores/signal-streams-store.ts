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
import { NotFoundError } from '../errors.js';
import {
  type HeldSet,
  type SignalStream,
  type SignalStreamsStore,
  StreamChangedError,
} from '../ports/signal-streams-store.js';
import { queryWholePartition } from './partition-query.js';

const STREAMS_PK = 'ssf-streams';
const heldPk = (streamId: string) => `ssf-held#${streamId}`;
/** Held SETs are dropped after this long unacknowledged (the paused-stream retention README documents). */
const HELD_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/**
 * SSF streams and their held SETs in the records table (docs/adr/0011-security-signals.md):
 * - streams: pk `ssf-streams`, sk `<streamId>`. A deployment has a handful of receivers, so one partition lists
 *   every stream with one Query, which is what the fan-out does per batch of security events.
 * - held SETs: pk `ssf-held#<streamId>`, sk `<jti>`, TTL `expiresAt`: the poll queue of a poll stream, and the
 *   events a paused push stream keeps until it is enabled. An acknowledgement is one delete of that key.
 */
export class DynamoDbSignalStreamsStore implements SignalStreamsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(stream: SignalStream): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: STREAMS_PK, sk: stream.streamId, ...stream },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(streamId: string): Promise<SignalStream | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: STREAMS_PK, sk: streamId }, ConsistentRead: true }),
    );
    return result.Item ? toStream(result.Item) : undefined;
  }

  async list(): Promise<SignalStream[]> {
    return (await queryWholePartition(this.db, this.table, STREAMS_PK)).map((item) => toStream(item));
  }

  /**
   * Replaces a stream only while it still belongs to `clientId` and was last written at `expectedUpdatedAt`: two
   * concurrent PATCHes cannot both win, and a stream deleted meanwhile is not brought back.
   */
  async replace(stream: SignalStream, expectedUpdatedAt: string): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: STREAMS_PK, sk: stream.streamId, ...stream },
          ConditionExpression: 'clientId = :client AND updatedAt = :updated',
          ExpressionAttributeValues: { ':client': stream.clientId, ':updated': expectedUpdatedAt },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new StreamChangedError();
      throw error;
    }
  }

  async delete(streamId: string, clientId: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: STREAMS_PK, sk: streamId },
          ConditionExpression: 'clientId = :client',
          ExpressionAttributeValues: { ':client': clientId },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('No such stream.');
      throw error;
    }
  }

  /**
   * Records a verification request unless the previous one is younger than `minIntervalMs` (SSF 1.0
   * min_verification_interval): one conditional write, so concurrent requests cannot both pass.
   */
  async markVerification(streamId: string, clientId: string, nowMs: number, minIntervalMs: number) {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: STREAMS_PK, sk: streamId },
          UpdateExpression: 'SET lastVerificationAtMs = :now',
          ConditionExpression: 'clientId = :client AND lastVerificationAtMs <= :limit',
          ExpressionAttributeValues: { ':now': nowMs, ':client': clientId, ':limit': nowMs - minIntervalMs },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async hold(streamId: string, sets: readonly HeldSet[], nowMs: number): Promise<void> {
    const expiresAt = Math.floor(nowMs / 1000) + HELD_RETENTION_SECONDS;
    await this.batchWrite(
      sets.map((held) => ({
        PutRequest: { Item: { pk: heldPk(streamId), sk: held.jti, set: held.set, expiresAt } },
      })),
    );
  }

  /** Oldest first (jti sort order is creation order, see the SET builder), at most `limit`. */
  async held(streamId: string, limit: number): Promise<{ sets: HeldSet[]; moreAvailable: boolean }> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': heldPk(streamId) },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const nowSeconds = Math.floor(Date.now() / 1000);
    const sets = (page.Items ?? [])
      // TTL deletion lags by up to days: an expired SET is gone as far as the receiver is concerned.
      .filter((item) => Number(item['expiresAt']) > nowSeconds)
      .map((item) => ({ jti: String(item['sk']), set: String(item['set']) }));
    return { sets, moreAvailable: page.LastEvaluatedKey !== undefined };
  }

  /** Acknowledged (or moved to the push queue): each jti is one delete; unknown ones are ignored. */
  async release(streamId: string, jtis: readonly string[]): Promise<void> {
    await this.batchWrite(jtis.map((jti) => ({ DeleteRequest: { Key: { pk: heldPk(streamId), sk: jti } } })));
  }

  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let start = 0; start < requests.length; start += 25) {
      let pending: Record<string, unknown>[] | undefined = requests.slice(start, start + 25);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** Math.min(attempt, 6)));
        const result = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: pending as never[] } }),
        );
        pending = result.UnprocessedItems?.[this.table] as Record<string, unknown>[] | undefined;
        if (attempt > 8 && pending && pending.length > 0)
          throw new Error('DynamoDB kept returning unprocessed items');
      }
    }
  }
}

function toStream(item: Record<string, unknown>): SignalStream {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as SignalStream;
}
