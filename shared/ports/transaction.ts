import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';

/**
 * One write or condition of a DynamoDB transaction. Stores hand these out (`...Item` methods) so that one action's
 * writes to several entities land together or not at all; the store that sends the transaction owns the outcome.
 */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
