import { join } from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AppFunction, type WorkloadResources } from './app-function.js';

export interface DispatcherProps {
  readonly functionsDir: string;
  readonly resources: WorkloadResources;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The incident dispatcher: every minute it walks the scope of incidents whose send time has passed and queues one
 * notification per account. The admin function also invokes it asynchronously for an immediate send.
 */
export class Dispatcher extends Construct {
  readonly dispatcher: AppFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    this.dispatcher = new AppFunction(this, 'Dispatcher', {
      workload: 'dispatcher',
      entry: join(props.functionsDir, 'dispatcher.ts'),
      resources: props.resources,
      environment: props.environment,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    this.schedule = new Rule(this, 'EveryMinute', {
      description: 'account-shield: run the incident dispatcher',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [
        // A missed tick is not retried: the next one, a minute later, resumes from the stored cursor.
        new LambdaFunction(this.dispatcher.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      ],
    });
  }
}
