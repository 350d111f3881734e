import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Dashboard,
  GraphWidget,
  type IMetric,
  type IWidget,
  Metric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  SECURITY_METRICS_NAMESPACE,
  SECURITY_METRICS_SERVICE,
  type SecurityMetricName,
  securityMetricNames,
} from '../../shared/ports/security-metrics.js';
import type { AppFunction } from './app-function.js';

export interface OperationsDashboardProps {
  readonly api: HttpApi;
  readonly notificationsQueue: IQueue;
  readonly notificationsDeadLetterQueue: IQueue;
  readonly notifier: AppFunction;
  readonly dispatcher: AppFunction;
  readonly securityEventsPublisher: AppFunction;
  readonly securityEventsDeadLetterQueue: IQueue;
}

const PERIOD = Duration.minutes(5);
const WIDTH = 12;
const HEIGHT = 6;

/** One of shared/ports/security-metrics.ts's counters, summed per period (Powertools adds the service dimension). */
export function securityMetric(name: SecurityMetricName): Metric {
  return new Metric({
    namespace: SECURITY_METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SECURITY_METRICS_SERVICE },
    statistic: 'Sum',
    period: PERIOD,
    label: name,
  });
}

const graph = (title: string, left: IMetric[], right: IMetric[] = []): GraphWidget =>
  new GraphWidget({ title, left, right, width: WIDTH, height: HEIGHT });

/**
 * The operations dashboard: security outcomes (logins, throttles, refresh-token reuse), incident campaign
 * progress and Shared Signals deliveries from the security metrics, next to the API's traffic, errors and
 * latency, the notification queue and every dead-letter queue, and the background functions' errors.
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const sum = { period: PERIOD, statistic: 'Sum' };
    const max = { period: PERIOD, statistic: 'Maximum' };
    const latency = (statistic: string) =>
      props.api.metricLatency({ period: PERIOD, statistic, label: `latency ${statistic}` });
    const fnErrors = (fn: AppFunction, label: string) => fn.function.metricErrors({ ...sum, label });

    const rows: IWidget[][] = [
      [
        new TextWidget({
          markdown:
            '# account-shield\nSecurity metrics are counts per 5 minutes (`AccountShield` namespace, `service` = ' +
            "account-shield); see docs/events.md. Alarms go to the stack's alarm topic.",
          width: 24,
          height: 2,
        }),
      ],
      [
        graph('Logins', [
          securityMetric(securityMetricNames.loginSucceeded),
          securityMetric(securityMetricNames.loginFailed),
        ]),
        graph('Throttled requests and refresh-token reuse', [
          securityMetric(securityMetricNames.throttled),
          securityMetric(securityMetricNames.refreshTokenReused),
        ]),
      ],
      [
        graph('Incident campaign mails', [
          securityMetric(securityMetricNames.campaignMailsQueued),
          securityMetric(securityMetricNames.campaignMailsSent),
          securityMetric(securityMetricNames.campaignMailsFailed),
        ]),
        graph('Shared Signals deliveries', [
          securityMetric(securityMetricNames.signalDelivered),
          securityMetric(securityMetricNames.signalDeliveryFailed),
        ]),
      ],
      [
        graph('API requests and errors', [
          props.api.metricCount({ ...sum, label: 'requests' }),
          props.api.metricClientError({ ...sum, label: '4xx' }),
          props.api.metricServerError({ ...sum, label: '5xx' }),
        ]),
        graph('API latency (ms)', [latency('p50'), latency('p95'), latency('p99')]),
      ],
      [
        graph(
          'Notification queue',
          [props.notificationsQueue.metricApproximateNumberOfMessagesVisible({ ...max, label: 'waiting' })],
          [props.notificationsQueue.metricApproximateAgeOfOldestMessage({ ...max, label: 'oldest (s)' })],
        ),
        graph('Dead-letter queues', [
          props.notificationsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            ...max,
            label: 'notifications DLQ',
          }),
          props.securityEventsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            ...max,
            label: 'security events DLQ',
          }),
        ]),
      ],
      [
        graph('Notifier, dispatcher and publisher errors', [
          fnErrors(props.notifier, 'notifier errors'),
          props.notifier.function.metricThrottles({ ...sum, label: 'notifier throttles' }),
          fnErrors(props.dispatcher, 'dispatcher errors'),
          fnErrors(props.securityEventsPublisher, 'security event publisher errors'),
        ]),
        graph('Security events to EventBridge: delay (ms)', [
          props.securityEventsPublisher.function.metric('IteratorAge', { ...max, label: 'iterator age' }),
        ]),
      ],
    ];

    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: rows,
    });
  }
}
