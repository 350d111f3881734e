import type { NotificationMessage } from '../notifications/messages.js';

/** Where use-cases put mail to be sent; SQS on AWS and locally (fauxqs), an array in unit tests. */
export interface NotificationQueue {
  enqueue(messages: readonly NotificationMessage[]): Promise<void>;
}
