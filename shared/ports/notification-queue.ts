import type { NotificationMessage } from '../notifications/messages.js';

export interface EnqueueOptions {
  /**
   * Hide the messages for this many seconds (SQS DelaySeconds, 0-900): a campaign batch that SES throttled
   * comes back later instead of being retried at once, so throttling slows a campaign rather than failing it.
   */
  readonly delaySeconds?: number;
}

/** Where use-cases put mail to be sent; SQS on AWS and locally (fauxqs), an array in unit tests. */
export interface NotificationQueue {
  enqueue(messages: readonly NotificationMessage[], options?: EnqueueOptions): Promise<void>;
}
