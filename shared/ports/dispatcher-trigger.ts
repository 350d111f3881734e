/**
 * Starts a dispatcher run now rather than at the next scheduled tick, so an incident with an immediate send
 * does not wait up to a minute. Best effort by design: if the trigger fails, the schedule picks the incident
 * up anyway, so callers log the failure and carry on.
 *
 * On AWS this is an asynchronous Lambda invoke (shared/aws/lambda-dispatcher-trigger.ts). Locally there is no
 * Lambda service: the local runner registers its in-process dispatcher with `registerInProcessDispatcher`
 * (e.g. `registerInProcessDispatcher(() => scheduler.runNow())`) and unregisters it on stop.
 */
export interface DispatcherTrigger {
  trigger(): Promise<void>;
}

type DispatcherRun = () => Promise<unknown>;

let inProcessRun: DispatcherRun | undefined;

/**
 * Local runner and tests only: what `inProcessDispatcherTrigger` calls. `run` reports its own failures (the
 * trigger cannot: nobody awaits it). Returns the function that unregisters it.
 */
export function registerInProcessDispatcher(run: DispatcherRun): () => void {
  inProcessRun = run;
  return () => {
    if (inProcessRun === run) inProcessRun = undefined;
  };
}

/**
 * Fire and forget: the admin request must not wait for a campaign walk. Without a registered dispatcher this
 * does nothing and the local schedule (every few seconds) picks the incident up.
 */
export const inProcessDispatcherTrigger: DispatcherTrigger = {
  async trigger() {
    const run = inProcessRun;
    if (!run) return;
    void Promise.resolve()
      .then(run)
      .catch(() => undefined);
  },
};
