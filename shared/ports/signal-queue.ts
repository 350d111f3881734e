/** One SET on its way to a push receiver: what the delivery function takes from the signals queue. */
export interface SignalDelivery {
  readonly streamId: string;
  readonly jti: string;
  readonly set: string;
}

/** Where the fan-out and verification requests put push deliveries; SQS on AWS and locally (fauxqs). */
export interface SignalQueue {
  enqueue(deliveries: readonly SignalDelivery[]): Promise<void>;
}
