import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { runInvocation } from '../shared/logging.js';
import { countDispatchedMails } from '../shared/use-cases/campaign-metrics.js';
import { dispatchDueCampaigns } from '../shared/use-cases/dispatch-campaigns.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** No optional adapter: none of this function's routes hashes, mails, or uses KMS, Lambda or SSO providers. */
const getDeps = createDepsLoader({});

/**
 * Invoked every minute by EventBridge, and asynchronously by the admin function right after an incident with
 * an immediate send (the event is ignored either way: the work is whatever is due). It stops starting pages
 * a safety margin before the Lambda deadline; the next run resumes from the saved cursors.
 */
export const handler = (_event: unknown, context: Context) =>
  runInvocation(logger, context, async (log) => {
    const deps = await getDeps();
    const nowMs = deps.clock.now().getTime();
    const deadlineMs = nowMs + context.getRemainingTimeInMillis();
    const report = await dispatchDueCampaigns(deps, {
      // Unique per run, even when Lambda reuses a request id for a retried async invoke.
      owner: `${context.awsRequestId}/${randomUUID()}`,
      stopAtMs: deadlineMs - deps.config.campaigns.dispatcherSafetyMarginMs,
      deadlineMs,
    });
    if (report.incidents.length > 0) log.info('dispatcher run', { incidents: report.incidents });
    countDispatchedMails(deps.metrics, report);
    deps.metrics.flush();
    return report;
  });
