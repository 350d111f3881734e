import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../nag.js';
import { workloads } from '../workloads.js';
import { AppFunction, type WorkloadResources } from './app-function.js';

export interface UserImportProps {
  readonly functionsDir: string;
  readonly resources: Omit<WorkloadResources, 'importBucket' | 'importQueue'>;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Import files hold password hashes: they are deleted this long after upload, imported or not. */
export const importObjectExpiryDays = 7;
/** A job message is tried this often (each try resumes from its checkpoint) before it goes to the DLQ. */
export const importMaxReceiveCount = 5;

/**
 * The S3 user import (README "Migrating an existing user base"): a `.jsonl` or `.csv` file dropped in the bucket
 * sends an event to the queue; the worker streams the object through the same import use-case as
 * `POST /v1/admin/users/import`, checkpoints its byte offset in DynamoDB after every batch, and queues its own
 * continuation before its 15-minute limit, so files of any size import across as many runs as they need.
 */
export class UserImport extends Construct {
  readonly bucket: Bucket;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: AppFunction;

  constructor(scope: Construct, id: string, props: UserImportProps) {
    super(scope, id);
    const workerTimeout = Duration.seconds(workloads.importWorker.timeoutSeconds);

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(importObjectExpiryDays) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Files live here for at most 7 days and are read only by the import worker, whose reads CloudTrail data ' +
        'events can record; an access-log bucket would keep object keys (file names) longer than the files.',
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Queue', {
      // AWS guidance for Lambda event sources: at least 6 x the function timeout.
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: importMaxReceiveCount },
    });
    // The notification is set on the bucket resource itself: CDK's addEventNotification would add a custom
    // resource Lambda with a managed policy and `s3:PutBucketNotification` on "*". S3 checks that it may send
    // to the queue when the bucket is created, so the queue policy comes first; it names the account rather
    // than the bucket ARN, which would make the two depend on each other.
    const allowS3 = this.queue.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const cfnBucket = this.bucket.node.defaultChild as CfnBucket;
    cfnBucket.notificationConfiguration = {
      queueConfigurations: ['.jsonl', '.csv'].map((suffix) => ({
        event: 's3:ObjectCreated:*',
        queue: this.queue.queueArn,
        filter: { s3Key: { rules: [{ name: 'suffix', value: suffix }] } },
      })),
    };
    if (allowS3.policyDependable) this.bucket.node.addDependency(allowS3.policyDependable);

    this.worker = new AppFunction(this, 'Worker', {
      workload: 'importWorker',
      entry: join(props.functionsDir, 'import-worker.ts'),
      resources: { ...props.resources, importBucket: this.bucket, importQueue: this.queue },
      environment: props.environment,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    acknowledgeWildcardResource(
      this.worker.role,
      this.bucket.arnForObjects('*'),
      'The worker reads whichever file an operator drops in this bucket (and only this bucket); keys are not known in advance.',
    );
    this.worker.function.addEventSource(
      // One job at a time per invocation; a couple of files may import side by side.
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );
  }
}
