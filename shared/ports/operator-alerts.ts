/**
 * Tells the people who run account-shield that something needs a human now (a user reported their account
 * compromised). One structured log line: on AWS it is a CloudWatch embedded-metric-format record, so the
 * `AccountShield/UserReportedCompromise` metric rises and its alarm publishes to the stack's alarm topic
 * (infra/constructs/alarms.ts) with no SDK call on the request path and no extra permission; locally the same
 * line is the alert. It carries ids only, never an email address or token.
 */
export interface OperatorAlert {
  readonly kind: 'user_reported_compromise';
  readonly userId: string;
  readonly authMethod: 'password' | 'sso';
  readonly at: string;
}

export interface OperatorAlerts {
  raise(alert: OperatorAlert): void;
}

export const OPERATOR_ALERT_NAMESPACE = 'AccountShield';
export const USER_REPORTED_COMPROMISE_METRIC = 'UserReportedCompromise';

export function createLogOperatorAlerts(
  write: (line: string) => void = (line) => console.log(line),
): OperatorAlerts {
  return {
    raise(alert) {
      write(
        JSON.stringify({
          level: 'WARN',
          message: 'operator alert: a user reported their account compromised',
          alert: alert.kind,
          userId: alert.userId,
          authMethod: alert.authMethod,
          at: alert.at,
          [USER_REPORTED_COMPROMISE_METRIC]: 1,
          _aws: {
            Timestamp: Date.parse(alert.at),
            CloudWatchMetrics: [
              {
                Namespace: OPERATOR_ALERT_NAMESPACE,
                Dimensions: [[]],
                Metrics: [{ Name: USER_REPORTED_COMPROMISE_METRIC, Unit: 'Count' }],
              },
            ],
          },
        }),
      );
    },
  };
}
