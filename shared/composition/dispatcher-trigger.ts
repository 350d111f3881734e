import { createLambdaDispatcherTrigger } from '../aws/lambda-dispatcher-trigger.js';
import type { Config } from '../config.js';
import { type DispatcherTrigger, inProcessDispatcherTrigger } from '../ports/dispatcher-trigger.js';

/** An asynchronous invoke of the dispatcher function on AWS, the local runner's in-process dispatcher otherwise. */
export function dispatcherTrigger(config: Config): DispatcherTrigger {
  return config.dispatcherFunctionName
    ? createLambdaDispatcherTrigger({ functionName: config.dispatcherFunctionName, region: config.region })
    : inProcessDispatcherTrigger;
}
