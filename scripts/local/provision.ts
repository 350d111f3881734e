/**
 * Creates the tables and queues the functions expect, on the emulators, from the same definitions the CDK
 * stack uses. Both functions are idempotent so a runner or test can call them again on a warm emulator.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type IndexKey,
  type TableDefinition,
  type TableName,
  tableDefinitions,
} from '../../shared/tables.js';

export interface ProvisionedTables {
  /** Physical table name per logical name. */
  readonly names: Readonly<Record<TableName, string>>;
  /** The variables the functions read (`USERS_TABLE`, ...), ready to merge into process.env. */
  readonly env: Readonly<Record<string, string>>;
}

export interface ProvisionedQueues {
  readonly queueUrl: string;
  readonly dlqUrl: string;
}

export interface QueueOptions {
  /** Lambda's SQS guidance is at least six times the function timeout; the notifier's is 5 s. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Receives before a message moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
}

/** DynamoDB table names allow [a-zA-Z0-9_.-]; SQS queue names only [a-zA-Z0-9_-], so dots are refused here. */
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,60}$/;

function tableNameFor(prefix: string, table: TableName): string {
  return `${prefix}-${table}`;
}

export async function createTables(dynamodb: DynamoDBClient, prefix: string): Promise<ProvisionedTables> {
  assertPrefix(prefix);
  const entries = Object.entries(tableDefinitions) as [TableName, TableDefinition][];
  await Promise.all(
    entries.map(([table, definition]) => createTable(dynamodb, tableNameFor(prefix, table), definition)),
  );
  const names = Object.fromEntries(entries.map(([table]) => [table, tableNameFor(prefix, table)])) as Record<
    TableName,
    string
  >;
  const env = Object.fromEntries(entries.map(([table, definition]) => [definition.envVar, names[table]]));
  return { names, env };
}

async function createTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  definition: TableDefinition,
): Promise<void> {
  const keySchema: KeySchemaElement[] = [{ AttributeName: definition.partitionKey, KeyType: 'HASH' }];
  const attributes: AttributeDefinition[] = [{ AttributeName: definition.partitionKey, AttributeType: 'S' }];
  if (definition.sortKey) {
    keySchema.push({ AttributeName: definition.sortKey, KeyType: 'RANGE' });
    attributes.push({ AttributeName: definition.sortKey, AttributeType: 'S' });
  }
  const indexes: GlobalSecondaryIndex[] = [];
  for (const [indexName, index] of Object.entries(definition.globalIndexes ?? {})) {
    const keys = [index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])];
    indexes.push({
      IndexName: indexName,
      KeySchema: keys.map((key, position) => ({
        AttributeName: key.name,
        KeyType: position === 0 ? 'HASH' : 'RANGE',
      })),
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
    for (const key of keys) {
      if (!attributes.some((attribute) => attribute.AttributeName === key.name))
        attributes.push({ AttributeName: key.name, AttributeType: scalarType(key) });
    }
  }
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: keySchema,
        AttributeDefinitions: attributes,
        BillingMode: 'PAY_PER_REQUEST',
        ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
        ...(definition.streamViewType
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.streamViewType } }
          : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    // Reusing a table with another key layout would fail much later with confusing validation errors.
    const existing = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    const actual = JSON.stringify(existing.Table?.KeySchema ?? []);
    if (actual !== JSON.stringify(keySchema)) {
      throw new ProvisioningError(
        `Table ${tableName} exists with key schema ${actual}; delete it or use another prefix`,
      );
    }
    // A table from before an index was added would make every Query on it fail with a ValidationException.
    const existingIndexes = (existing.Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName);
    const missing = indexes.filter((index) => !existingIndexes.includes(index.IndexName));
    if (missing.length > 0) {
      throw new ProvisioningError(
        `Table ${tableName} lacks the index ${missing.map((index) => index.IndexName).join(', ')}; delete it or use another prefix`,
      );
    }
  }
  if (definition.ttlAttribute) await enableTtl(dynamodb, tableName, definition.ttlAttribute);
}

const scalarType = (key: IndexKey) => (key.type === 'number' ? 'N' : 'S');

async function enableTtl(dynamodb: DynamoDBClient, tableName: string, attributeName: string): Promise<void> {
  const current = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = current.TimeToLiveDescription?.TimeToLiveStatus;
  // Enabling twice is a ValidationException, which would break idempotency.
  if (status === 'ENABLED' || status === 'ENABLING') {
    if (current.TimeToLiveDescription?.AttributeName !== attributeName) {
      throw new ProvisioningError(
        `Table ${tableName} has TTL on another attribute; delete it or use another prefix`,
      );
    }
    return;
  }
  await dynamodb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: attributeName, Enabled: true },
    }),
  );
}

/**
 * The signals queue (SET push deliveries) and its DLQ. Back-off is per message (the deliverer changes its
 * visibility), so the queue's own visibility timeout only covers a delivery in progress.
 */
export async function createSignalQueues(
  sqs: SQSClient,
  prefix: string,
  options: { readonly maxReceiveCount?: number } = {},
): Promise<ProvisionedQueues> {
  assertPrefix(prefix);
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-signals-dlq`,
      Attributes: { MessageRetentionPeriod: String(14 * 24 * 60 * 60) },
    }),
  );
  const dlqUrl = requireValue(dlq.QueueUrl, 'signals dead-letter queue URL');
  const dlqAttributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const dlqArn = requireValue(dlqAttributes.Attributes?.QueueArn, 'signals dead-letter queue ARN');
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-signals`,
      Attributes: {
        VisibilityTimeout: '30',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? 10,
        }),
      },
    }),
  );
  return { queueUrl: requireValue(queue.QueueUrl, 'signals queue URL'), dlqUrl };
}

export async function createQueues(
  sqs: SQSClient,
  prefix: string,
  options: QueueOptions = {},
): Promise<ProvisionedQueues> {
  assertPrefix(prefix);
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-notifications-dlq`,
      // The maximum, so a poison message stays around long enough for someone to look at it.
      Attributes: { MessageRetentionPeriod: String(14 * 24 * 60 * 60) },
    }),
  );
  const dlqUrl = requireValue(dlq.QueueUrl, 'dead-letter queue URL');
  const dlqAttributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const dlqArn = requireValue(dlqAttributes.Attributes?.QueueArn, 'dead-letter queue ARN');
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-notifications`,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? 5,
        }),
      },
    }),
  );
  return { queueUrl: requireValue(queue.QueueUrl, 'queue URL'), dlqUrl };
}

function assertPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new ProvisioningError(`Invalid resource prefix "${prefix}": use 1-60 of [A-Za-z0-9_-]`);
  }
}

function requireValue(value: string | undefined, what: string): string {
  if (!value) throw new ProvisioningError(`The emulator returned no ${what}`);
  return value;
}
