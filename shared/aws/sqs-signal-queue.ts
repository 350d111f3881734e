import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SignalQueue } from '../ports/signal-queue.js';

const SQS_BATCH_LIMIT = 10;

export function createSqsSignalQueue(sqs: SQSClient, queueUrl: string | undefined): SignalQueue {
  return {
    async enqueue(deliveries) {
      if (deliveries.length === 0) return;
      if (!queueUrl) throw new Error('SIGNALS_QUEUE_URL is not configured');
      for (let start = 0; start < deliveries.length; start += SQS_BATCH_LIMIT) {
        let pending = deliveries.slice(start, start + SQS_BATCH_LIMIT).map((delivery, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(delivery),
        }));
        // SQS may accept part of a batch; resend only the failed entries, a bounded number of times.
        for (let attempt = 0; pending.length > 0; attempt += 1) {
          const result = await sqs.send(
            new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
          );
          const failedIds = new Set((result.Failed ?? []).map((failure) => failure.Id));
          pending = pending.filter((entry) => failedIds.has(entry.Id));
          if (pending.length > 0 && attempt >= 3) throw new Error(`SQS refused ${pending.length} signal(s)`);
        }
      }
    },
  };
}
