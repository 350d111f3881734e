import { createLambdaDispatcherTrigger } from '../aws/lambda-dispatcher-trigger.js';
import type { Config } from '../config.js';
import type { DispatcherTrigger } from '../ports/dispatcher-trigger.js';

/** Without a dispatcher function to invoke, an immediate incident waits for the schedule's next run. */
const scheduleOnly: DispatcherTrigger = { trigger: async () => undefined };

/** An asynchronous invoke of the dispatcher function (or of the local runner's stand-in for it). */
export function dispatcherTrigger(config: Config): DispatcherTrigger {
  return config.dispatcherFunctionName
    ? createLambdaDispatcherTrigger({
        functionName: config.dispatcherFunctionName,
        region: config.region,
        endpoint: config.endpoints.lambda,
      })
    : scheduleOnly;
}
