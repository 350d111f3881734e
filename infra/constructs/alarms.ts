import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  OPERATOR_ALERT_NAMESPACE,
  USER_REPORTED_COMPROMISE_METRIC,
} from '../../shared/ports/operator-alerts.js';
import type { AppFunction } from './app-function.js';

export interface AlarmsProps {
  readonly functions: readonly AppFunction[];
  readonly deadLetterQueue: IQueue;
  /** On-failure queue of the security event publisher (infra/constructs/security-event-bus.ts). */
  readonly securityEventsDeadLetterQueue: IQueue;
  readonly securityEventsPublisher: AppFunction;
  /** Dead-letter queue of the Shared Signals push deliveries (infra/constructs/security-signals.ts). */
  readonly signalsDeadLetterQueue: IQueue;
  readonly api: HttpApi;
  readonly alarmEmail: string | undefined;
  readonly removalPolicy: RemovalPolicy;
}

/** Thresholds, kept together so the README can quote them. */
export const alarmThresholds = {
  /** Percentage of API requests answered 5xx over 5 minutes (with at least `api5xxMinRequests` requests). */
  api5xxPercent: 1,
  api5xxMinRequests: 20,
  /**
   * SES account reputation: AWS reviews an account at a 5 % bounce rate and 0.1 % complaint rate, so these fire
   * before that.
   */
  sesBounceRate: 0.04,
  sesComplaintRate: 0.0008,
  /** The security event publisher's stream iterator age: internal consumers hear of events within this. */
  publisherIteratorAgeSeconds: 300,
} as const;

/**
 * Operational alarms, all sent to one SNS topic (encrypted; optional email subscription): the notifications DLQ
 * holds a message, any function errors or is throttled, the API's 5xx rate, and SES bounce and complaint rates.
 */
export class Alarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const topicKey = new Key(this, 'TopicKey', {
      description: 'account-shield: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with this key.
    topicKey.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');

    this.topic = new Topic(this, 'Topic', {
      displayName: 'account-shield alarms',
      masterKey: topicKey,
      enforceSSL: true,
    });
    // enforceSSL gives the topic an explicit policy, which replaces the default one CloudWatch relied on.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    this.add('DeadLetterQueueNotEmpty', {
      description: 'A notification failed 5 times and is in the dead-letter queue: an email was not sent.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });

    this.add('SignalsDeadLetterQueueNotEmpty', {
      description:
        'A Security Event Token could not be pushed to a Shared Signals receiver after every retry (receiver down ' +
        'for days, or refusing): the message holds the SET; replay it to the signals queue once the receiver is back.',
      metric: props.signalsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });

    this.add('SecurityEventsDeadLetterQueueNotEmpty', {
      description:
        'Security events could not be published on the EventBridge bus after every retry: the queued message names ' +
        'the stream records to replay (within the 24 h stream retention). See docs/events.md.',
      metric: props.securityEventsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });
    this.add('SecurityEventsPublisherBehind', {
      description: `Security events reach the bus more than ${alarmThresholds.publisherIteratorAgeSeconds} s late (stream iterator age).`,
      metric: props.securityEventsPublisher.function.metric('IteratorAge', {
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: alarmThresholds.publisherIteratorAgeSeconds * 1000,
      strictlyGreater: true,
    });

    for (const fn of props.functions) {
      const name = fn.node.id;
      this.add(`${name}Errors`, {
        description: `The ${name} function returned errors (unhandled exceptions or timeouts).`,
        metric: fn.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
      });
      this.add(`${name}Throttles`, {
        description: `The ${name} function was throttled (concurrency limit reached).`,
        metric: fn.function.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
      });
    }

    this.add('Api5xxRate', {
      description: `More than ${alarmThresholds.api5xxPercent}% of API requests failed with a 5xx in 5 minutes.`,
      metric: new MathExpression({
        expression: `IF(requests >= ${alarmThresholds.api5xxMinRequests}, 100 * errors / requests, 0)`,
        usingMetrics: {
          errors: props.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
          requests: props.api.metricCount({ period: Duration.minutes(5), statistic: 'Sum' }),
        },
        period: Duration.minutes(5),
        label: 'API 5xx %',
      }),
      threshold: alarmThresholds.api5xxPercent,
      strictlyGreater: true,
    });

    // "Secure my account" (/security/report): shared/ports/operator-alerts.ts writes an embedded-metric log line,
    // so one user report is one data point here and the operators hear of it within a minute.
    this.add('UserReportedCompromise', {
      description:
        'A user reported their account compromised ("Secure my account"): every device was signed out. Look at the security events of the userId in the accounts function log.',
      metric: new Metric({
        namespace: OPERATOR_ALERT_NAMESPACE,
        metricName: USER_REPORTED_COMPROMISE_METRIC,
        period: Duration.minutes(1),
        statistic: 'Sum',
      }),
      threshold: 1,
    });

    const sesReputation = (metricName: string) =>
      new Metric({ namespace: 'AWS/SES', metricName, period: Duration.minutes(15), statistic: 'Maximum' });
    this.add('SesBounceRate', {
      description: `SES account bounce rate above ${alarmThresholds.sesBounceRate * 100}% (AWS reviews at 5%).`,
      metric: sesReputation('Reputation.BounceRate'),
      threshold: alarmThresholds.sesBounceRate,
      strictlyGreater: true,
    });
    this.add('SesComplaintRate', {
      description: `SES account complaint rate above ${alarmThresholds.sesComplaintRate * 100}% (AWS reviews at 0.1%).`,
      metric: sesReputation('Reputation.ComplaintRate'),
      threshold: alarmThresholds.sesComplaintRate,
      strictlyGreater: true,
    });
  }

  private add(
    id: string,
    options: { description: string; metric: IMetric; threshold: number; strictlyGreater?: boolean },
  ): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: `account-shield: ${options.description}`,
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: 1,
      comparisonOperator: options.strictlyGreater
        ? ComparisonOperator.GREATER_THAN_THRESHOLD
        : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means no traffic (or no failures), not a problem.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }
}
