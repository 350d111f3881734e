import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { DispatcherTrigger } from '../ports/dispatcher-trigger.js';

/**
 * Asynchronous invoke (InvocationType Event): Lambda queues the run and answers at once, so the admin request
 * is not held up by a campaign walk, and two invokes at once are harmless (leases keep walks apart).
 */
export function createLambdaDispatcherTrigger(options: {
  functionName: string;
  region: string;
  /** The local runner's stand-in (scripts/local/lambda-service.ts); unset on AWS. */
  endpoint?: string;
}): DispatcherTrigger {
  const lambda = new LambdaClient({
    region: options.region,
    endpoint: options.endpoint,
    maxAttempts: 2,
    requestHandler: { requestTimeout: 3_000, connectionTimeout: 1_000, throwOnRequestTimeout: true },
  });
  const payload = new TextEncoder().encode(
    JSON.stringify({ source: 'account-shield.admin', reason: 'incident-created' }),
  );
  return {
    async trigger() {
      await lambda.send(
        new InvokeCommand({ FunctionName: options.functionName, InvocationType: 'Event', Payload: payload }),
      );
    },
  };
}
