import { join } from 'node:path';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { CfnRegistry, CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import { EventSourceMapping, FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  BUS_EVENT_SOURCE,
  busEventJsonSchema,
  busEventTypes,
} from '../../shared/domain/security-bus-events.js';
import { AppFunction, type WorkloadResources } from './app-function.js';

export interface SecurityEventBusProps {
  readonly functionsDir: string;
  readonly resources: Omit<WorkloadResources, 'securityEventBus'>;
  /** Only LOG_LEVEL and the Powertools service name are used: the publisher reads no table and no secret. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/** How the publisher consumes the records table's stream; kept together so the docs and tests quote them. */
export const publisherStreamSettings = {
  batchSize: 100,
  /** Then the batch is split in halves, down to the one record EventBridge or the mapping keeps refusing. */
  retryAttempts: 10,
  /**
   * A record older than this goes to the on-failure queue instead of being retried: well inside the stream's 24 h
   * retention, so the queued pointer (shard and sequence numbers) can still be read back and replayed.
   */
  maxRecordAgeHours: 6,
} as const;

/**
 * The security event bus for internal consumers (docs/events.md): a custom EventBridge bus, a schema registry with
 * one JSON schema per event type, and the function that publishes every security event item inserted into the
 * records table, fed by the table's stream. Lambda's event source filter drops every other record before the
 * function runs, so the function is invoked (and billed) for security events only. Why a function and not
 * EventBridge Pipes: docs/adr/0012-security-event-bus.md.
 */
export class SecurityEventBus extends Construct {
  readonly bus: EventBus;
  readonly publisher: AppFunction;
  /** Batches that kept failing: the stream position of the records, to replay within the stream's retention. */
  readonly deadLetterQueue: Queue;
  readonly schemaRegistry: CfnRegistry;
  readonly mapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: SecurityEventBusProps) {
    super(scope, id);

    this.bus = new EventBus(this, 'Bus', {
      description: `account-shield security events (source "${BUS_EVENT_SOURCE}", detail-type = event type)`,
    });

    this.schemaRegistry = new CfnRegistry(this, 'Schemas', {
      description: 'account-shield: one schema per security event type published on the security event bus',
    });
    for (const type of busEventTypes) {
      new CfnSchema(this, `Schema_${type}`, {
        registryName: this.schemaRegistry.attrRegistryName,
        schemaName: `${BUS_EVENT_SOURCE}@${type}`,
        type: 'JSONSchemaDraft4',
        description: `account-shield security event "${type}"`,
        content: JSON.stringify(busEventJsonSchema(type)),
      });
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself a dead-letter queue: the on-failure destination of the publisher's stream event " +
        'source mapping (cdk-nag only recognises queues named in another queue’s redrive policy).',
    });

    this.publisher = new AppFunction(this, 'Publisher', {
      workload: 'securityEventsPublisher',
      entry: join(props.functionsDir, 'security-events-publisher.ts'),
      resources: { ...props.resources, securityEventBus: this.bus },
      environment: props.environment,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    // A plain mapping rather than DynamoEventSource: that one also grants dynamodb:ListStreams on "*", which the
    // mapping does not need; the stream read is in the publisher's access map (infra/workloads.ts).
    const streamArn = props.resources.tables.records.tableStreamArn;
    if (!streamArn) throw new Error('The records table needs its stream (shared/tables.ts streamViewType)');
    this.mapping = new EventSourceMapping(this, 'RecordsStream', {
      target: this.publisher.function,
      eventSourceArn: streamArn,
      // From the oldest record still in the stream: a re-created mapping misses nothing of the last 24 h.
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: publisherStreamSettings.batchSize,
      bisectBatchOnError: true,
      retryAttempts: publisherStreamSettings.retryAttempts,
      maxRecordAge: Duration.hours(publisherStreamSettings.maxRecordAgeHours),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: [
        FilterCriteria.filter({
          eventName: FilterRule.isEqual('INSERT'),
          dynamodb: { Keys: { pk: { S: FilterRule.beginsWith('events#') } } },
        }),
      ],
    });
  }
}
