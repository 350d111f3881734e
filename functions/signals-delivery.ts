import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { createPowertoolsSecurityMetrics } from '../shared/aws/powertools-security-metrics.js';
import { loadConfig } from '../shared/config.js';
import { invocationLogger, runInvocation } from '../shared/logging.js';
import { noSecurityMetrics, type SecurityMetrics } from '../shared/ports/security-metrics.js';
import { deliverSignal, retryDelaySeconds } from '../shared/use-cases/deliver-signals.js';
import { logger } from './commons/runtime.js';
import { getSignalDeps } from './commons/signals-runtime.js';

const log = invocationLogger(logger);

const deliverySchema = z.strictObject({
  streamId: z.string().min(1).max(64),
  jti: z.string().min(1).max(64),
  set: z
    .string()
    .min(1)
    .max(64 * 1024),
});

let sqs: SQSClient | undefined;
const config = () => loadConfig(process.env);
let metrics: SecurityMetrics | undefined;

/**
 * Hides a failed message for an exponentially growing time (SQS has no per-message back-off of its own), so a
 * receiver that is down is not hammered; after the queue's maxReceiveCount the message lands in the DLQ.
 */
async function backOff(record: SQSRecord): Promise<void> {
  const { signals, region, endpoints } = config();
  sqs ??= new SQSClient({ region, endpoint: endpoints.sqs });
  const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
  const queueUrl = signals.queueUrl;
  if (!queueUrl) return;
  await sqs
    .send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: retryDelaySeconds(attempt, signals.retryBaseSeconds, signals.retryMaxSeconds),
      }),
    )
    // Without the change the queue's own visibility timeout applies: a shorter back-off, never a lost message.
    .catch((error: unknown) => log.warn('could not set the retry delay', { error: String(error) }));
}

/** One record = one SET for one push stream; failures are reported per record so only they come back. */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  runInvocation(logger, context, async () => {
    const deps = await getSignalDeps();
    metrics ??= config().metrics === 'emf' ? createPowertoolsSecurityMetrics() : noSecurityMetrics;
    const counted = metrics;
    const failures: { itemIdentifier: string }[] = [];
    await Promise.all(
      event.Records.map(async (record) => {
        let parsed: z.infer<typeof deliverySchema>;
        try {
          parsed = deliverySchema.parse(JSON.parse(record.body));
        } catch {
          log.error('signal delivery message is malformed; dropped', { messageId: record.messageId });
          return;
        }
        try {
          const outcome = await deliverSignal({ ...deps, logger: log, now: Date.now }, parsed);
          if (outcome === 'delivered') counted.count('SignalDelivered');
          if (outcome !== 'retry') return;
        } catch (error) {
          log.warn('signal delivery failed; will retry', {
            messageId: record.messageId,
            error: String(error),
          });
        }
        counted.count('SignalDeliveryFailed');
        await backOff(record);
        failures.push({ itemIdentifier: record.messageId });
      }),
    );
    counted.flush();
    return { batchItemFailures: failures };
  });
