import { type SecurityMetrics, securityMetricNames } from '../ports/security-metrics.js';
import type { IncidentBatchOutcome } from './deliver-incident-batch.js';
import type { DispatchReport } from './dispatch-campaigns.js';

/**
 * Campaign progress as metrics, from the reports the dispatcher and the notifier already produce: queued by the
 * dispatcher's walk, then sent or failed for good by the notifier (retried and duplicate recipients are counted
 * when they finally settle, so queued ≈ sent + failed + skipped once a campaign is done).
 */
export function countDispatchedMails(metrics: SecurityMetrics, report: DispatchReport): void {
  const queued = report.incidents.reduce((sum, incident) => sum + incident.queued, 0);
  metrics.count(securityMetricNames.campaignMailsQueued, queued);
}

export function countIncidentBatch(metrics: SecurityMetrics, outcome: IncidentBatchOutcome): void {
  metrics.count(securityMetricNames.campaignMailsSent, outcome.sent);
  metrics.count(securityMetricNames.campaignMailsFailed, outcome.failed);
}
