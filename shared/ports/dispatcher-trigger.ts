/**
 * Starts a dispatcher run now rather than at the next scheduled tick, so an incident with an immediate send
 * does not wait up to a minute. Best effort by design: if the trigger fails, the schedule picks the incident
 * up anyway, so callers log the failure and carry on.
 *
 * The adapter is an asynchronous Lambda invoke (shared/aws/lambda-dispatcher-trigger.ts), on AWS and locally
 * alike: the local runner answers that call with a stand-in of the Lambda API (scripts/local/lambda-service.ts).
 */
export interface DispatcherTrigger {
  trigger(): Promise<void>;
}
