import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { NotificationQueue } from '../ports/notification-queue.js';

const SQS_BATCH_LIMIT = 10;

export function createSqsNotificationQueue(sqs: SQSClient, queueUrl: string | undefined): NotificationQueue {
  return {
    async enqueue(messages, options = {}) {
      if (messages.length === 0) return;
      if (!queueUrl) throw new Error('NOTIFICATIONS_QUEUE_URL is not configured');
      // SQS accepts 0-900 s; anything else is a caller bug we clamp rather than turn into a failed send.
      const delaySeconds =
        options.delaySeconds === undefined
          ? undefined
          : Math.min(900, Math.max(0, Math.round(options.delaySeconds)));
      for (let start = 0; start < messages.length; start += SQS_BATCH_LIMIT) {
        let pending = messages.slice(start, start + SQS_BATCH_LIMIT).map((message, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(message),
          ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
        }));
        // SQS may accept part of a batch; resend only the failed entries, a bounded number of times.
        for (let attempt = 0; pending.length > 0; attempt += 1) {
          const result = await sqs.send(
            new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
          );
          const failedIds = new Set((result.Failed ?? []).map((failure) => failure.Id));
          pending = pending.filter((entry) => failedIds.has(entry.Id));
          if (pending.length > 0 && attempt >= 3) {
            throw Object.assign(new Error(`SQS refused ${pending.length} notification(s)`), {
              name: 'ServiceUnavailable',
            });
          }
        }
      }
    },
  };
}
