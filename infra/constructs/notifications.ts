import { join } from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { workloads } from '../workloads.js';
import { AppFunction, type MailSender, type WorkloadResources } from './app-function.js';

export interface NotificationsProps {
  readonly functionsDir: string;
  readonly resources: Omit<WorkloadResources, 'notificationsQueue' | 'mail'>;
  readonly mail: MailSender;
  readonly environment: Readonly<Record<string, string>>;
  /** SES maximum send rate of the account (emails per second). */
  readonly sesMaxSendRate: number;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/** Lambda recycles a message this many times before it lands in the dead-letter queue. */
const maxReceiveCount = 5;
/** Messages per notifier invocation; the notifier reports failed ones individually. */
export const notifierBatchSize = 10;

/**
 * How many notifier invocations may run at once so that the queue drains at about the SES send rate.
 * Assumes one SES call takes ~100 ms and a batch is sent one message at a time (~10 emails/s per invocation);
 * SES throttling beyond that is retried through the queue. Lambda's minimum for SQS is 2.
 */
export function notifierMaxConcurrency(sesMaxSendRate: number): number {
  return Math.min(1000, Math.max(2, Math.ceil(sesMaxSendRate / 10)));
}

/**
 * The notifications queue (producers: login, sessions, password, mfa, admin, dispatcher), its dead-letter queue,
 * and the notifier that drains it into SES.
 */
export class Notifications extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly notifier: AppFunction;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const notifierTimeout = Duration.seconds(workloads.notifier.timeoutSeconds);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      // Longer than the source queue's retention, so a message's age never expires it here first.
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.queue = new Queue(this, 'Queue', {
      // AWS guidance for Lambda event sources: at least 6 x the function timeout, so a batch that is being
      // retried inside one invocation never becomes visible to a second one.
      visibilityTimeout: Duration.seconds(notifierTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.notifier = new AppFunction(this, 'Notifier', {
      workload: 'notifier',
      entry: join(props.functionsDir, 'notifier.ts'),
      resources: { ...props.resources, mail: props.mail, notificationsQueue: this.queue },
      environment: props.environment,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    this.notifier.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: notifierBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: notifierMaxConcurrency(props.sesMaxSendRate),
      }),
    );
  }
}
