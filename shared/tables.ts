/**
 * The DynamoDB tables, described once so that the CDK stack, the local runner and the tests create
 * exactly the same key layout. See docs/adr/0002-table-key-layout.md for why the data is split this way.
 */
export interface TableDefinition {
  /** Name of the environment variable that carries the physical table name to the functions. */
  readonly envVar: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Attribute holding an epoch-seconds expiry; DynamoDB TTL only cleans up, code always checks expiry itself. */
  readonly ttlAttribute?: string;
  /**
   * A DynamoDB stream of new images: the records table's security events (pk `events#<userId>`) reach the Shared
   * Signals fan-out (and the EventBridge bus) from it, after the user's action has been answered.
   */
  readonly stream?: 'NEW_IMAGE';
}

export const tableDefinitions = {
  /** One item per account: profile, password hash, token version, forced-reset flag, MFA state. */
  users: { envVar: 'USERS_TABLE', partitionKey: 'userId' },
  /** Uniqueness guards: `email#<normalised email>` and `username#<lower-cased username>` -> userId. */
  identifiers: { envVar: 'IDENTIFIERS_TABLE', partitionKey: 'identifier' },
  /** One item per device session, under its user so that listing and revocation stay per user. */
  sessions: {
    envVar: 'SESSIONS_TABLE',
    partitionKey: 'userId',
    sortKey: 'sessionId',
    ttlAttribute: 'expiresAt',
  },
  /**
   * Everything else, keyed `pk`/`sk` by the store that owns it: tenant policy, reset tokens, throttles,
   * security events, incidents, campaign cursors, mail deliveries, and SSO links, flows and one-time codes.
   */
  records: {
    envVar: 'RECORDS_TABLE',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    stream: 'NEW_IMAGE',
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof tableDefinitions;
