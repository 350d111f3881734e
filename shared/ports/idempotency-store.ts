import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';

/** Where Powertools keeps the idempotency records of admin writes (CONTRACT.md "Idempotent admin writes"). */
export type IdempotencyStore = BasePersistenceLayer;
