import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sesMail } from '../shared/composition/mail.js';
import { invocationLogger, runInvocation } from '../shared/logging.js';
import { notificationMessageSchema } from '../shared/notifications/messages.js';
import { countIncidentBatch } from '../shared/use-cases/campaign-metrics.js';
import { deliverNotification } from '../shared/use-cases/deliver-notification.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ mail: sesMail });

/** Writes with the current invocation's request id. */
const log = invocationLogger(logger);

export class MalformedNotificationError extends Error {
  override readonly name = 'MalformedNotificationError';
}

/**
 * One record = one notification message. A record that fails (malformed, or a transient SES/DynamoDB
 * error) is reported in batchItemFailures so only it is retried; after the queue's maxReceiveCount it
 * lands in the dead-letter queue, and the rest of the batch is never held back.
 */
async function processRecord(record: SQSRecord): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    log.error('notification is not JSON', { messageId: record.messageId });
    throw new MalformedNotificationError('not JSON');
  }
  const parsed = notificationMessageSchema.safeParse(json);
  if (!parsed.success) {
    log.error('notification does not match any message schema', {
      messageId: record.messageId,
      issues: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    });
    throw new MalformedNotificationError('invalid message');
  }
  const deps = await getDeps();
  const outcome = await deliverNotification(deps, parsed.data);
  if (typeof outcome === 'object') countIncidentBatch(deps.metrics, outcome);
  log.info('notification processed', { messageId: record.messageId, type: parsed.data.type, outcome });
}

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  runInvocation(logger, context, async () => {
    try {
      // A processor per invocation: it keeps the batch's failures on itself, and the local runner invokes this
      // handler for several batches at once in one process (a shared one mixed their item identifiers up).
      return await processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), {
        context,
        throwOnFullBatchFailure: false,
      });
    } finally {
      // One EMF line per invocation with what its records counted, also when the invocation fails.
      await getDeps().then(
        (deps) => deps.metrics.flush(),
        () => undefined,
      );
    }
  });
