import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  SECURITY_METRICS_NAMESPACE,
  SECURITY_METRICS_SERVICE,
  type SecurityMetrics,
} from '../ports/security-metrics.js';

/**
 * SecurityMetrics as Powertools Metrics: counts are buffered and written as one CloudWatch EMF line per flush
 * (Powertools also flushes by itself at 100 distinct metrics). Nothing is written for an invocation that counted
 * nothing, instead of Powertools' "no metrics" warning on every request.
 */
export function createPowertoolsSecurityMetrics(): SecurityMetrics {
  const metrics = new Metrics({
    namespace: SECURITY_METRICS_NAMESPACE,
    serviceName: SECURITY_METRICS_SERVICE,
  });
  let pending = false;
  return {
    count(name, value = 1) {
      if (!(value > 0)) return;
      metrics.addMetric(name, MetricUnit.Count, value);
      pending = true;
    },
    flush() {
      if (!pending) return;
      pending = false;
      metrics.publishStoredMetrics();
    },
  };
}
