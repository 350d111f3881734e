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
   * DynamoDB Streams view of the table on AWS. NEW_IMAGE on the records table: security events leave
   * account-shield (EventBridge, Shared Signals) from the stream, never on the user's request path.
   */
  readonly streamViewType?: 'NEW_IMAGE';
  /** Global secondary indexes by name (all KEYS_ONLY: their readers only need the base table's keys). */
  readonly globalIndexes?: Readonly<Record<string, IndexDefinition>>;
}

export interface IndexKey {
  readonly name: string;
  readonly type: 'string' | 'number';
}

export interface IndexDefinition {
  readonly partitionKey: IndexKey;
  readonly sortKey?: IndexKey;
}

/**
 * The dispatcher's index of incidents with work due (docs/adr/0004-incidents-and-campaigns.md). Sparse: an
 * incident carries `dueIndexPk` only while `dueAt` is set (scheduled, running, or a reminder pending), so a
 * Query reads the few incidents with work and never the thousands that are completed or cancelled.
 */
export const DUE_INCIDENTS_INDEX = 'dueIncidents';
export const DUE_INDEX_PARTITION = 'dueIndexPk';

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
    streamViewType: 'NEW_IMAGE',
    globalIndexes: {
      [DUE_INCIDENTS_INDEX]: {
        partitionKey: { name: DUE_INDEX_PARTITION, type: 'string' },
        sortKey: { name: 'dueAt', type: 'number' },
      },
    },
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof tableDefinitions;
