/**
 * Plays the part of the EventBridge schedule that invokes the dispatcher: one scheduled event every
 * `intervalMs`, never two runs at once (a slow run delays the next one instead of overlapping it).
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';

export type ScheduledInvoke = (event: ScheduledEvent<Record<string, never>>) => Promise<unknown>;

export interface SchedulerOptions {
  readonly intervalMs: number;
  readonly invoke: ScheduledInvoke;
  /** Where failures of timer-driven runs go; runNow() rejects instead. @default console.error */
  readonly logError?: (message: string, error: unknown) => void;
}

export interface Scheduler {
  /** Runs the dispatcher now, after any run in progress, and resolves with its result. */
  runNow(): Promise<unknown>;
  /** Cancels future runs and waits for the one in progress. */
  stop(): Promise<void>;
}

const ACCOUNT_ID = '123456789012';

export function startScheduler(options: SchedulerOptions): Scheduler {
  if (!(options.intervalMs > 0)) throw new RangeError('intervalMs must be positive');
  const logError = options.logError ?? ((message: string, error: unknown) => console.error(message, error));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Every run is chained after the previous one, which is what keeps timer runs and runNow() from overlapping.
  let queue: Promise<unknown> = Promise.resolve();

  const enqueue = (): Promise<unknown> => {
    const run = queue.then(() => options.invoke(scheduledEvent()));
    queue = run.catch(() => undefined);
    return run;
  };

  const schedule = (): void => {
    timer = setTimeout(() => {
      enqueue()
        .catch((error: unknown) => logError('Scheduled dispatcher run failed', error))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, options.intervalMs);
    // The schedule alone must not keep a process (or a test worker) alive.
    timer.unref();
  };
  schedule();

  return {
    runNow() {
      if (stopped) return Promise.reject(new Error('The scheduler is stopped'));
      return enqueue();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await queue;
    },
  };
}

/** The event EventBridge sends for a schedule rule, also used to invoke the dispatcher by hand. */
export function scheduledEvent(): ScheduledEvent<Record<string, never>> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT_ID,
    // EventBridge stamps scheduled events to the second.
    time: `${new Date().toISOString().slice(0, 19)}Z`,
    region,
    resources: [`arn:aws:events:${region}:${ACCOUNT_ID}:rule/account-shield-dispatcher`],
    detail: {},
  };
}
