import { isConditionFailure } from '../aws/dynamodb-errors.js';

/** One item of a TransactWriteItems call (Put, Update, Delete or ConditionCheck). */
export type { TransactItem } from '../ports/transaction.js';

/**
 * Awaits a conditional write; `undefined` when its condition did not hold (ConditionalCheckFailedException),
 * so each store turns that into its own domain answer. Every other failure propagates.
 */
export async function conditionalWrite<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** Awaits a conditional write: true when it was written, false when its condition did not hold. */
export async function conditionHeld(write: Promise<unknown>): Promise<boolean> {
  return (await conditionalWrite(write)) !== undefined;
}
