import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
// zod/mini: the same checks in a tenth of the bundle (the full zod would be most of this function's code).
import * as z from 'zod/mini';
import { createEventBridgeSecurityEventBus } from '../shared/aws/eventbridge-security-event-bus.js';
import { createLogger, invocationLogger, runInvocation } from '../shared/logging.js';
import {
  publishSecurityEvents,
  type RecordsStreamRecord,
} from '../shared/use-cases/publish-security-events.js';

/**
 * Publishes every security event written to the records table (its DynamoDB stream, INSERTs of `events#` items
 * only: the event source mapping filters the rest out) to the EventBridge bus of internal consumers. It needs no
 * table, key or queue, so it reads its own two variables instead of shared/config.ts.
 */
const env = z
  .object({
    SECURITY_EVENT_BUS_NAME: z.string().check(z.minLength(1)),
    AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1'),
    /** Only for tests against a local EventBridge (moto); unset on AWS. */
    EVENTBRIDGE_ENDPOINT: z.optional(z.url()),
    LOG_LEVEL: z.optional(z.string()),
  })
  .parse(process.env);

const logger = createLogger(env.LOG_LEVEL);
const bus = createEventBridgeSecurityEventBus(
  new EventBridgeClient({
    region: env.AWS_REGION,
    ...(env.EVENTBRIDGE_ENDPOINT ? { endpoint: env.EVENTBRIDGE_ENDPOINT } : {}),
    maxAttempts: 3,
    requestHandler: { requestTimeout: 3_000, connectionTimeout: 1_000, throwOnRequestTimeout: true },
  }),
  { busName: env.SECURITY_EVENT_BUS_NAME },
);
const log = invocationLogger(logger);

function toRecord(record: DynamoDBStreamEvent['Records'][number]): RecordsStreamRecord {
  const image = record.dynamodb?.NewImage;
  return {
    sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
    eventName: record.eventName,
    // aws-lambda's AttributeValue and the SDK's describe the same wire shape.
    newImage: image
      ? unmarshall(image as Record<string, AttributeValue> as Parameters<typeof unmarshall>[0])
      : undefined,
  };
}

export const handler = (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> =>
  runInvocation(logger, context, async () => {
    const report = await publishSecurityEvents({ bus, logger: log }, event.Records.map(toRecord));
    log.info('security events published', {
      records: event.Records.length,
      published: report.published,
      ignored: report.ignored,
      failed: report.failed.length,
    });
    return { batchItemFailures: report.failed.map((itemIdentifier) => ({ itemIdentifier })) };
  });
