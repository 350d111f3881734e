import { join } from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventSourceMapping, FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { workloads } from '../workloads.js';
import { AppFunction, type WorkloadResources } from './app-function.js';
import { SigningKey } from './signing-key.js';

export interface SecuritySignalsProps {
  readonly functionsDir: string;
  readonly resources: WorkloadResources;
  readonly environment: Readonly<Record<string, string>>;
  readonly signingKeyRotationDays: number;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/** Receives of one SET before it goes to the DLQ: with back-off capped at 15 min, about a day of retries. */
export const signalsMaxReceiveCount = 100;
/** SETs pushed per delivery invocation (in parallel, each bounded by SSF_PUSH_TIMEOUT_MS). */
export const signalsBatchSize = 10;

/**
 * Security events out (OpenID Shared Signals Framework 1.0): the SET key set (RS256, rotated like the access-token
 * keys), the fan-out reading the records table's stream (security events only) and the push deliveries' queue,
 * its DLQ and deliverer. The SSF HTTP routes themselves are an API function group (functions/ssf.ts).
 */
export class SecuritySignals extends Construct {
  readonly setKeys: SigningKey;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly fanOut: AppFunction;
  readonly delivery: AppFunction;

  constructor(scope: Construct, id: string, props: SecuritySignalsProps) {
    super(scope, id);
    const records: ITable = props.resources.tables.records;

    this.setKeys = new SigningKey(this, 'SetKeys', {
      functionsDir: props.functionsDir,
      tables: props.resources.tables,
      rotationDays: props.signingKeyRotationDays,
      removalPolicy: props.removalPolicy,
      logRetention: props.logRetention,
      algorithm: 'RS256',
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Queue', {
      // Covers one delivery in progress; the back-off of a failed one is set per message by the deliverer.
      visibilityTimeout: Duration.seconds(workloads.signalsDelivery.timeoutSeconds * 6),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: signalsMaxReceiveCount },
    });

    const resources: WorkloadResources = {
      ...props.resources,
      signalsQueue: this.queue,
      setSigningKeySecret: this.setKeys.secret,
      setVerificationKeysSecret: this.setKeys.publicKeys,
    };
    this.fanOut = new AppFunction(this, 'FanOut', {
      workload: 'signalsFanout',
      entry: join(props.functionsDir, 'signals-fanout.ts'),
      resources,
      environment: props.environment,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    // A plain mapping rather than DynamoEventSource, which also grants dynamodb:ListStreams on "*": the stream read
    // is in the fan-out's access map (infra/workloads.ts readRecordsStream), on the stream ARN only.
    const streamArn = records.tableStreamArn;
    if (!streamArn) throw new Error('The records table needs its stream (shared/tables.ts streamViewType)');
    new EventSourceMapping(this, 'RecordsStream', {
      target: this.fanOut.function,
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.LATEST,
      batchSize: 100,
      // Only inserted security events wake the function: the records table also holds throttles, tokens, ...
      filters: [
        FilterCriteria.filter({
          eventName: FilterRule.isEqual('INSERT'),
          dynamodb: { NewImage: { pk: { S: FilterRule.beginsWith('events#') } } },
        }),
      ],
      // A poison batch is split until the bad record is alone, then skipped after the retries below.
      bisectBatchOnError: true,
      retryAttempts: 10,
      reportBatchItemFailures: true,
    });
    this.delivery = new AppFunction(this, 'Delivery', {
      workload: 'signalsDelivery',
      entry: join(props.functionsDir, 'signals-delivery.ts'),
      resources,
      // The deliverer changes its messages' visibility (back-off), so it needs the queue's URL.
      environment: { ...props.environment, SIGNALS_QUEUE_URL: this.queue.queueUrl },
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    this.delivery.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: signalsBatchSize, reportBatchItemFailures: true }),
    );
  }
}
