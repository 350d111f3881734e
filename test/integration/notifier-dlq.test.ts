/**
 * A notification the notifier can never process is tried exactly 5 times (ApproximateReceiveCount 1..5 as the
 * handler sees it) and then sits in the dead-letter queue: the local queue pair is provisioned like the CDK
 * one (infra/constructs/notifications.ts `maxReceiveCount`, pinned to 5 by test/infra/stack.test.ts), and
 * the real notifier handler reports the record in batchItemFailures each time.
 */
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createLambdaContext } from '../../scripts/local/api-server.js';
import { type SqsPoller, startSqsPoller } from '../../scripts/local/sqs-poller.js';
import { sleep } from '../support/fixtures.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let sqs: SQSClient;
let poller: SqsPoller | undefined;

beforeAll(async () => {
  // The notifier here is the test's own poller (below), so it can see every receive; 1 s visibility keeps it short.
  stack = await startTestStack({
    notifier: false,
    queueVisibilityTimeoutSeconds: 1,
    env: { LOG_LEVEL: 'SILENT' },
  });
  sqs = new SQSClient({
    endpoint: stack.endpoints.sqs,
    region: 'us-east-1',
    requestHandler: { requestTimeout: 5000 },
  });
});
afterAll(async () => {
  await poller?.stop();
  sqs?.destroy();
  await stack?.stop();
});

describe('notifications dead-letter queue', () => {
  it('moves a record the notifier always fails to the DLQ after exactly 5 receives', async () => {
    // Prepare: the real notifier handler, watched for the receive count of every record it is given.
    const { handler } = await import('../../functions/notifier.js');
    const receiveCounts = new Map<string, number[]>();
    poller = await startSqsPoller({
      sqs,
      queueUrl: stack.queueUrl,
      waitTimeSeconds: 1,
      handler: async (event: SQSEvent) => {
        for (const record of event.Records) {
          const counts = receiveCounts.get(record.messageId) ?? [];
          counts.push(Number(record.attributes.ApproximateReceiveCount));
          receiveCounts.set(record.messageId, counts);
        }
        return handler(event, createLambdaContext('notifier', 30_000));
      },
    });

    // Act
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: 'not json' }),
    );
    const inDlq = await firstDlqMessage(30_000);
    await poller.stop();
    poller = undefined;

    // Assess
    expect(inDlq.MessageId).toBe(sent.MessageId);
    expect(receiveCounts.get(sent.MessageId!)).toEqual([1, 2, 3, 4, 5]);
  }, 40_000);
});

/** Polls the DLQ (without consuming what it finds for good: the message stays for a human to read). */
async function firstDlqMessage(timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.dlqUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 1 }),
    );
    const message = received.Messages?.[0];
    if (message) return message;
    await sleep(200);
  }
  throw new Error('nothing reached the dead-letter queue');
}
