/**
 * Plays the part of Lambda's SQS event source mapping: long-polls a queue, hands batches to a handler as
 * SQS events and deletes what the handler did not report in `batchItemFailures`, so failed records come
 * back after the visibility timeout and reach the dead-letter queue after maxReceiveCount, as on AWS.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface SqsPollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly handler: SqsBatchHandler;
  /** Messages per batch, 1-10. @default 10 */
  readonly batchSize?: number;
  /** Long-poll wait, 0-20 s; stop() cuts a waiting poll short. @default 20 */
  readonly waitTimeSeconds?: number;
  /** Independent polling loops, like the parallel pollers Lambda runs; useful for racing-consumer tests. @default 1 */
  readonly concurrency?: number;
  /** @default console.error */
  readonly logError?: (message: string, error: unknown) => void;
}

export interface SqsPoller {
  /** Stops polling and resolves once every in-flight batch has been handled and its deletions sent. */
  stop(): Promise<void>;
}

const RECEIVE_RETRY_DELAY_MS = 1_000;

export async function startSqsPoller(options: SqsPollerOptions): Promise<SqsPoller> {
  const batchSize = options.batchSize ?? 10;
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10)
    throw new RangeError('batchSize must be 1-10');
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20) {
    throw new RangeError('waitTimeSeconds must be 0-20');
  }
  const logError = options.logError ?? ((message: string, error: unknown) => console.error(message, error));
  const { sqs, queueUrl } = options;

  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attributes.Attributes?.QueueArn ?? '';
  const region = await sqs.config.region();

  const abort = new AbortController();
  let stopped = false;

  const receive = async (): Promise<Message[] | undefined> => {
    try {
      const output = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        // The client's own request timeout is sized for short calls and would cut every long poll.
        { abortSignal: abort.signal, requestTimeout: (waitTimeSeconds + 10) * 1000 },
      );
      return output.Messages ?? [];
    } catch (error) {
      if (stopped) return undefined;
      logError(`Receiving from ${queueUrl} failed; retrying`, error);
      await sleep(RECEIVE_RETRY_DELAY_MS, undefined, { signal: abort.signal }).catch(() => undefined);
      return [];
    }
  };

  const deleteRecords = async (records: readonly SQSRecord[]): Promise<void> => {
    for (let start = 0; start < records.length; start += 10) {
      const chunk = records.slice(start, start + 10);
      try {
        const output = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((record, index) => ({
              Id: String(index),
              ReceiptHandle: record.receiptHandle,
            })),
          }),
        );
        for (const failure of output.Failed ?? []) {
          logError(`Deleting a processed message from ${queueUrl} failed`, failure);
        }
      } catch (error) {
        // The messages reappear after the visibility timeout, as they would on AWS: handlers must be idempotent.
        logError(`Deleting processed messages from ${queueUrl} failed`, error);
      }
    }
  };

  const handleBatch = async (messages: readonly Message[]): Promise<void> => {
    const records = messages.map((message) => toRecord(message, queueArn, region));
    let response: SQSBatchResponse | undefined;
    try {
      response = await options.handler({ Records: records });
    } catch (error) {
      // Lambda treats a failed invocation as a failed batch: every record returns after the visibility timeout.
      logError(`The handler for ${queueUrl} threw; the whole batch will be retried`, error);
      return;
    }
    const failed = failedMessageIds(response, records);
    if (failed === 'all') {
      logError(
        `The handler for ${queueUrl} reported an unknown itemIdentifier; the whole batch will be retried`,
        response,
      );
      return;
    }
    await deleteRecords(records.filter((record) => !failed.has(record.messageId)));
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      const messages = await receive();
      if (messages === undefined) return;
      // A batch that arrived is handled even when stop() was called meanwhile, like an invocation in flight.
      if (messages.length > 0) await handleBatch(messages);
    }
  };

  const loops = Array.from({ length: concurrency }, () => loop());
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        abort.abort();
        await Promise.all(loops);
      })();
      return stopping;
    },
  };
}

/**
 * Lambda's rules for partial batch responses: an empty or missing list means success, and an identifier that
 * is empty or not in the batch fails the whole batch.
 */
function failedMessageIds(
  response: SQSBatchResponse | undefined,
  records: readonly SQSRecord[],
): Set<string> | 'all' {
  const failures = response?.batchItemFailures ?? [];
  const known = new Set(records.map((record) => record.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !known.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const system = message.Attributes ?? {};
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? '',
      SenderId: system.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: toLambdaAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (system.AWSTraceHeader) record.attributes.AWSTraceHeader = system.AWSTraceHeader;
  if (system.SequenceNumber) record.attributes.SequenceNumber = system.SequenceNumber;
  if (system.MessageGroupId) record.attributes.MessageGroupId = system.MessageGroupId;
  if (system.MessageDeduplicationId) record.attributes.MessageDeduplicationId = system.MessageDeduplicationId;
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

/** The SDK's PascalCase, byte-array shape to Lambda's camelCase, base64 shape. */
function toLambdaAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    result[name] = {
      dataType: value.DataType ?? 'String',
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((bytes) => Buffer.from(bytes).toString('base64')),
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
    };
  }
  return result;
}
