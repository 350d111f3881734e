import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IdempotencyStore } from '../ports/idempotency-store.js';

/**
 * Idempotency records live in the records table: pk `idempotency`, sk `<route group>#<hash of the key>`, with
 * the table's own TTL attribute, so no extra table, IAM grant or local provisioning is needed. One partition
 * holds them all: admin writes are a handful per minute, far below a partition's write limit.
 */
const IDEMPOTENCY_PARTITION = 'idempotency';

export function createIdempotencyStore(client: DynamoDBClient, table: string): IdempotencyStore {
  return new DynamoDBPersistenceLayer({
    tableName: table,
    awsSdkV3Client: client,
    keyAttr: 'pk',
    sortKeyAttr: 'sk',
    staticPkValue: IDEMPOTENCY_PARTITION,
    // DynamoDB TTL deletes expired records; Powertools also treats an expired record as absent.
    expiryAttr: 'expiresAt',
  });
}
