/**
 * Issue 3 benchmark: notifier throughput (mails/s) as a ratio to the SES emulator's raw send rate in
 * the same run and at the same concurrency, and AWS requests per email (SES counted separately).
 */
import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { notificationMessageSchema, type SecurityNoticeMessage } from '../shared/notifications/messages.js';
import { securityNoticeMail } from '../shared/notifications/templates.js';
import { deliverNotification } from '../shared/use-cases/deliver-notification.js';
import { type BenchStack, round } from './support/bench-stack.js';

const MAILS = 400;
const CONCURRENCY = 10; // one SQS batch, processed in parallel as the Powertools BatchProcessor does

function notice(i: number): SecurityNoticeMessage {
  return {
    version: 1,
    type: 'security_notice',
    notice: 'password_changed',
    deliveryKey: `bench#${randomUUID()}`,
    userId: `user-${i}`,
    email: `bench-notifier-${i}@example.test`,
    requestedAt: new Date().toISOString(),
    ip: '203.0.113.9',
    userAgent: 'bench',
  };
}

async function rawSesRate(stack: BenchStack): Promise<number> {
  const mail = securityNoticeMail(
    { notice: 'password_changed', at: new Date().toISOString(), ip: null, userAgent: null },
    { appUrl: stack.config.publicAppUrl },
  );
  const started = performance.now();
  for (let i = 0; i < MAILS; i += CONCURRENCY) {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, j) =>
        stack.deps.mailer.send({ ...mail, to: `raw-${i + j}@example.test` }),
      ),
    );
  }
  return MAILS / ((performance.now() - started) / 1000);
}

async function notifierRate(stack: BenchStack) {
  const { deps, clients, meter, queueUrl } = stack;
  await deps.notifications.enqueue(Array.from({ length: MAILS }, (_, i) => notice(i)));
  meter.reset();
  let sent = 0;
  const started = performance.now();
  while (sent < MAILS) {
    const received = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: CONCURRENCY, WaitTimeSeconds: 1 }),
    );
    const messages = received.Messages ?? [];
    const outcomes = await Promise.all(
      messages.map((m) =>
        deliverNotification(deps, notificationMessageSchema.parse(JSON.parse(m.Body ?? ''))),
      ),
    );
    sent += outcomes.filter((o) => o === 'sent').length;
    if (messages.length > 0) {
      await clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    mailsPerSecond: MAILS / seconds,
    dynamodbPerMail: meter.total('dynamodb') / MAILS,
    sqsPerMail: meter.total('sqs') / MAILS,
    sesPerMail: meter.total('ses') / MAILS,
  };
}

export async function runNotifierBenchmark(stack: BenchStack) {
  const raw = await rawSesRate(stack);
  const notifier = await notifierRate(stack);
  return {
    mails: MAILS,
    concurrency: CONCURRENCY,
    sesEmulatorRawSendsPerSecond: Math.round(raw),
    notifierMailsPerSecond: Math.round(notifier.mailsPerSecond),
    ratioToRawSes: round(notifier.mailsPerSecond / raw),
    awsRequestsPerMailExcludingSes: round(notifier.dynamodbPerMail + notifier.sqsPerMail),
    dynamodbRequestsPerMail: round(notifier.dynamodbPerMail),
    sqsRequestsPerMail: round(notifier.sqsPerMail),
    sesRequestsPerMail: round(notifier.sesPerMail),
  };
}
