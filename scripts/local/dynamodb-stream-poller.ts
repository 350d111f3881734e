/**
 * Plays the part of Lambda's DynamoDB Streams event source locally: reads the records table's stream on DynamoDB
 * Local and hands batches of inserted `events#` items (the filter the AWS event source mapping has) to a handler.
 * A batch whose handler throws is retried from the same position, as Lambda does, so nothing is skipped.
 *
 * Talks the Streams API (DynamoDBStreams_20120810) over plain HTTP: DynamoDB Local does not check signatures, and
 * it spares the project a client package (@aws-sdk/client-dynamodb-streams lags the other clients' versions).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export interface DynamoStreamPollerOptions {
  readonly dynamodb: DynamoDBClient;
  /** DynamoDB Local's URL (the Streams API shares it). */
  readonly endpoint: string;
  readonly tableName: string;
  /** Only records whose `pk` starts with this (Lambda event filter). */
  readonly pkPrefix: string;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Pause between empty reads. @default 100 */
  readonly idleMs?: number;
  readonly logError?: (message: string, error: unknown) => void;
}

export interface DynamoStreamPoller {
  stop(): Promise<void>;
}

const BATCH_SIZE = 100;
const RETRY_DELAY_MS = 500;
const SHARD_REFRESH_MS = 5_000;

/**
 * DynamoDB Local's Streams API writes an empty map attribute as `{}` instead of `{"M": {}}` (AWS writes the
 * latter), which no unmarshaller accepts; this puts the type back so the handler sees what AWS would send.
 */
function repairEmptyMaps(record: DynamoDBRecord): DynamoDBRecord {
  const repair = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map(repair);
    const entries = Object.entries(value as Record<string, unknown>);
    return Object.fromEntries(
      entries.map(([name, attribute]) => [
        name,
        typeof attribute === 'object' && attribute !== null && Object.keys(attribute).length === 0
          ? { M: {} }
          : repairAttribute(attribute),
      ]),
    );
  };
  const repairAttribute = (attribute: unknown): unknown => {
    if (typeof attribute !== 'object' || attribute === null) return attribute;
    const typed = attribute as { M?: unknown; L?: unknown[] };
    if (typed.M !== undefined) return { M: repair(typed.M) };
    if (typed.L !== undefined)
      return {
        L: typed.L.map((item) =>
          Object.keys(item as object).length === 0 ? { M: {} } : repairAttribute(item),
        ),
      };
    return attribute;
  };
  const image = record.dynamodb?.NewImage;
  if (!image) return record;
  return { ...record, dynamodb: { ...record.dynamodb, NewImage: repair(image) as typeof image } };
}

export async function startDynamoStreamPoller(
  options: DynamoStreamPollerOptions,
): Promise<DynamoStreamPoller> {
  const logError = options.logError ?? ((message: string, error: unknown) => console.error(message, error));
  const idleMs = options.idleMs ?? 100;
  const table = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`Table ${options.tableName} has no stream`);

  const call = async <T>(action: string, body: Record<string, unknown>): Promise<T> => {
    const response = await fetch(options.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDBStreams_20120810.${action}`,
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${action} failed: ${response.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  };

  let stopped = false;
  const iterators = new Map<string, string | null>();
  const refreshShards = async () => {
    const described = await call<{ StreamDescription: { Shards?: { ShardId: string }[] } }>(
      'DescribeStream',
      {
        StreamArn: streamArn,
      },
    );
    for (const shard of described.StreamDescription.Shards ?? []) {
      if (iterators.has(shard.ShardId)) continue;
      const { ShardIterator } = await call<{ ShardIterator: string }>('GetShardIterator', {
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      });
      iterators.set(shard.ShardId, ShardIterator);
    }
  };

  // New shards are rare (DynamoDB Local rolls them over after hours): look for them every few seconds only, so
  // an idle poller costs the shared emulator one GetRecords per shard per idle period.
  let shardsCheckedAt = 0;
  const loop = (async () => {
    while (!stopped) {
      let progressed = false;
      try {
        if (Date.now() - shardsCheckedAt > SHARD_REFRESH_MS || [...iterators.values()].every((it) => !it)) {
          await refreshShards();
          shardsCheckedAt = Date.now();
        }
        for (const [shardId, iterator] of iterators) {
          if (!iterator || stopped) continue;
          const page = await call<{ Records?: DynamoDBRecord[]; NextShardIterator?: string }>('GetRecords', {
            ShardIterator: iterator,
            Limit: BATCH_SIZE,
          });
          const records = (page.Records ?? [])
            .map(repairEmptyMaps)
            .filter(
              (record) =>
                record.eventName === 'INSERT' &&
                String(record.dynamodb?.NewImage?.['pk']?.S ?? '').startsWith(options.pkPrefix),
            );
          if (records.length > 0) {
            progressed = true;
            // Not advanced on failure: the same records come again, as with Lambda's retries.
            await options.handler({ Records: records });
          }
          if ((page.Records ?? []).length > 0) progressed = true;
          iterators.set(shardId, page.NextShardIterator ?? null);
        }
      } catch (error) {
        if (stopped) break;
        if (/TrimmedDataAccessException|ExpiredIteratorException/.test(String(error))) {
          // The iterator points at records the emulator no longer keeps (or it expired): start the shards again
          // from their oldest record, as Lambda's event source mapping does. Re-read records carry the same jti.
          iterators.clear();
          shardsCheckedAt = 0;
          await sleep(idleMs);
          continue;
        }
        logError('Reading the records-table stream failed; retrying', error);
        await sleep(RETRY_DELAY_MS);
        continue;
      }
      if (!progressed) await sleep(idleMs);
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
