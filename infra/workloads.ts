/**
 * Every Lambda function of the stack and exactly what it may touch. This is the one place to change when a
 * handler starts using a table, the queue or a key: the constructs derive each role's policy from it.
 */

import { TOTP_ENCRYPTION_CONTEXT } from '../shared/aws/kms-secret-box.js';
import type { FunctionName } from '../shared/http/routes.js';
import { DUE_INCIDENTS_INDEX, type TableName } from '../shared/tables.js';

export type Workload =
  | FunctionName
  | 'notifier'
  | 'dispatcher'
  | 'keyRotation'
  | 'importWorker'
  | 'securityEventsPublisher'
  | 'signalsFanout'
  | 'signalsDelivery';

/**
 * - read: GetItem, BatchGetItem, Query and ConditionCheckItem (transactions need it on guarded items)
 * - write: PutItem, UpdateItem, DeleteItem, BatchWriteItem and ConditionCheckItem
 * - scan: Scan, only for walking a whole table (the dispatcher's "scope: all" campaigns)
 */
export type TableAccess = 'read' | 'write' | 'scan';

export const tableActions: Readonly<Record<TableAccess, readonly string[]>> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
  write: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
  ],
  scan: ['dynamodb:Scan'],
};

/**
 * The encryption context shared/aws/kms-secret-box.ts seals TOTP secrets with; grants on the TOTP key require it.
 */
export const totpEncryptionContextCondition = {
  'kms:EncryptionContext:purpose': TOTP_ENCRYPTION_CONTEXT.purpose,
} as const;

export interface WorkloadAccess {
  readonly tables: Readonly<Partial<Record<TableName, readonly TableAccess[]>>>;
  /** dynamodb:Query on these global secondary indexes (an index is a resource of its own in IAM). */
  readonly queryIndexes?: Readonly<Partial<Record<TableName, readonly string[]>>>;
  /** sqs:SendMessage on the notifications queue (consuming is granted by the notifier's event source). */
  readonly sendNotifications?: true;
  /**
   * The private signing keys: secretsmanager:GetSecretValue ('sign', only for functions that mint tokens), or the
   * rotation actions ('rotate'). Everything else never holds a private key.
   */
  readonly signingKey?: 'sign' | 'rotate';
  /**
   * The public key set (a second secret): GetSecretValue ('read', functions that verify access tokens or serve the
   * JWKS) or PutSecretValue ('publish', the key rotation).
   */
  readonly verificationKeys?: 'read' | 'publish';
  /** kms:Encrypt / kms:Decrypt on the TOTP secrets key, for ciphertexts bound to the TOTP encryption context. */
  readonly totpKey?: readonly ('encrypt' | 'decrypt')[];
  /** ses:SendEmail and ses:SendBulkEmail (incident campaigns) from the configured sender, via the configuration set. */
  readonly sendMail?: true;
  /** lambda:InvokeFunction on the dispatcher (an incident with an immediate send). */
  readonly invokeDispatcher?: true;
  /** secretsmanager:GetSecretValue on the configured SSO providers' client secrets, and nothing else. */
  readonly ssoClientSecrets?: true;
  /** s3:GetObject on the objects of the user-import bucket (the files dropped there). */
  readonly readImportObjects?: true;
  /** sqs:SendMessage on the import queue: a job near its timeout queues its own continuation. */
  readonly requeueImports?: true;
  /** events:PutEvents on the security event bus of internal consumers (and no other bus). */
  readonly publishSecurityEvents?: true;
  /**
   * dynamodb:DescribeStream, GetRecords and GetShardIterator on the records table's stream: what Lambda's event
   * source mapping reads on the function's behalf. Not ListStreams, which IAM grants only on "*" and which a
   * mapping given the stream ARN does not need.
   */
  readonly readRecordsStream?: true;
  /** sqs:SendMessage on the signals queue (SET push deliveries; consuming is granted by the event source). */
  readonly sendSignals?: true;
  /** GetSecretValue on the Security Event Token private key set (functions that sign SETs). */
  readonly setSigningKey?: 'sign';
  /** GetSecretValue on the SET public key set (the SSF jwks_uri). */
  readonly setVerificationKeys?: 'read';
}

export interface WorkloadSpec {
  readonly description: string;
  /**
   * argon2id at m = 19 MiB needs little memory, but Lambda allocates CPU in proportion to memory: 1024 MB keeps
   * a hash near its single-core time, which the login latency budget assumes.
   */
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** Hashes or verifies passwords (argon2id); these get 1024 MB. */
  readonly hashesPasswords: boolean;
  /**
   * Ships @node-rs/argon2 as an installed module with the linux-arm64 binary instead of bundling it (esbuild cannot
   * bundle a native addon). Only functions that hash passwords import the hasher (their handler lists
   * shared/composition/passwords.ts), so this equals `hashesPasswords` (test/infra/function-bundles.test.ts).
   */
  readonly shipsArgon2: boolean;
  readonly access: WorkloadAccess;
}

/**
 * The token authorizer for resource servers (infra/constructs/token-authorizer.ts) reads only these attributes
 * (shared/stores/revocation-state.ts and tenant-policy-store.ts project exactly them), and of the records table only
 * the tenant policy item: never a password hash, a TOTP secret or a refresh-token hash.
 */
export const tokenAuthorizerReads: Readonly<
  Record<'users' | 'sessions' | 'records', { attributes: readonly string[]; leadingKeys?: readonly string[] }>
> = {
  users: { attributes: ['userId', 'tokenVersion'] },
  sessions: { attributes: ['userId', 'sessionId', 'expiresAt', 'createdAtMs'] },
  records: {
    attributes: ['pk', 'sk', 'revokeTokensIssuedBefore', 'forceResetPasswordsSetBefore'],
    leadingKeys: ['tenant'],
  },
};

/** GetItem (tenant policy) and BatchGetItem (user + session): nothing else, not even Query. */
export const tokenAuthorizerActions = ['dynamodb:BatchGetItem', 'dynamodb:GetItem'] as const;

/** Bearer routes check the token version, the session and the tenant-wide not-before on every request. */
const verifiesBearerTokens = { users: ['read'], sessions: ['read'], records: ['read'] } as const;

/**
 * Functions that hash or verify passwords (argon2id): 1024 MB (see `memorySize`) and the native module shipped,
 * the two always together.
 */
const passwordHashing = { memorySize: 1024, hashesPasswords: true, shipsArgon2: true } as const;
const noPasswordHashing = { hashesPasswords: false, shipsArgon2: false } as const;

/**
 * Password sign-in and its kin (login; forgotten password, reset and change): finds the account by its identifiers,
 * checks the one-time code (TOTP secrets are decrypted, never encrypted), writes sessions and mints their tokens
 * (login, refresh, password change), and mails about it.
 */
const passwordSignIn = {
  tables: {
    users: ['read', 'write'],
    identifiers: ['read'],
    sessions: ['read', 'write'],
    records: ['read', 'write'],
  },
  signingKey: 'sign',
  totpKey: ['decrypt'],
  sendNotifications: true,
} as const satisfies WorkloadAccess;

export const workloads: Readonly<Record<Workload, WorkloadSpec>> = {
  accounts: {
    description: 'Sign-up, profile and security events',
    ...passwordHashing,
    timeoutSeconds: 10,
    access: {
      tables: {
        ...verifiesBearerTokens,
        users: ['read', 'write'],
        identifiers: ['read', 'write'],
        records: ['read', 'write'],
      },
      verificationKeys: 'read',
      // "Secure my account" (/security/report) mails a reset link or a sign-out notice.
      sendNotifications: true,
    },
  },
  login: {
    description: 'Password login and refresh-token rotation',
    ...passwordHashing,
    timeoutSeconds: 10,
    // Mints tokens (login, refresh) but never checks a bearer token.
    access: passwordSignIn,
  },
  sessions: {
    description: 'Session listing, logout and revoke-all',
    memorySize: 512,
    timeoutSeconds: 10,
    ...noPasswordHashing,
    access: {
      tables: { users: ['read', 'write'], sessions: ['read', 'write'], records: ['read', 'write'] },
      verificationKeys: 'read',
      sendNotifications: true,
    },
  },
  password: {
    description: 'Forgotten password, reset and change',
    ...passwordHashing,
    timeoutSeconds: 10,
    // Mints tokens (password change) and checks the bearer token of the change.
    access: { ...passwordSignIn, verificationKeys: 'read' },
  },
  mfa: {
    description: 'TOTP setup, confirmation and removal',
    ...passwordHashing,
    timeoutSeconds: 10,
    access: {
      tables: { ...verifiesBearerTokens, users: ['read', 'write'], records: ['read', 'write'] },
      verificationKeys: 'read',
      totpKey: ['encrypt', 'decrypt'],
      sendNotifications: true,
    },
  },
  admin: {
    description: 'Operator API: users, forced resets and incidents (IAM-authorised)',
    ...passwordHashing,
    timeoutSeconds: 15,
    access: {
      // Revoking an account's sessions is a token-version bump on its user item; sessions are never touched.
      // records: incidents, events, and the Idempotency-Key records of its writes (get, conditional put,
      // update, delete: shared/stores/idempotency-store.ts).
      tables: {
        users: ['read', 'write'],
        identifiers: ['read', 'write'],
        records: ['read', 'write'],
      },
      sendNotifications: true,
      invokeDispatcher: true,
    },
  },
  sso: {
    description: 'Sign-in with OpenID Connect providers (SSO accounts) and provider linking',
    memorySize: 512,
    // A provider gets 5 s per request (discovery, token, JWKS); the callback may make three in a row.
    timeoutSeconds: 20,
    ...noPasswordHashing,
    access: {
      // identifiers: email matches and just-in-time accounts; records: flows, one-time codes, links, throttles, events.
      tables: {
        users: ['read', 'write'],
        identifiers: ['read', 'write'],
        sessions: ['read', 'write'],
        records: ['read', 'write'],
      },
      signingKey: 'sign',
      verificationKeys: 'read',
      ssoClientSecrets: true,
    },
  },
  jwks: {
    description: 'Public signing keys (JWKS)',
    memorySize: 256,
    timeoutSeconds: 5,
    ...noPasswordHashing,
    access: { tables: {}, verificationKeys: 'read' },
  },
  pages: {
    description: 'Hosted account pages (static HTML and scripts built at deploy time)',
    memorySize: 256,
    timeoutSeconds: 5,
    ...noPasswordHashing,
    access: { tables: {} },
  },
  oauth: {
    description:
      'OAuth 2.0 / OpenID Connect: discovery, authorization code + PKCE, device codes, token endpoint',
    memorySize: 512,
    timeoutSeconds: 10,
    ...noPasswordHashing,
    access: {
      // sessions: OAuth grants start, rotate and end device sessions; users: token versions for every check;
      // records: clients, authorization requests, device codes, throttles and security events.
      tables: { users: ['read'], sessions: ['read', 'write'], records: ['read', 'write'] },
      signingKey: 'sign',
      verificationKeys: 'read',
    },
  },
  ssf: {
    description: 'Shared Signals transmitter: SSF configuration, streams, status, verification and polling',
    memorySize: 512,
    // Long polls (RFC 8936) wait up to 10 s for a first SET.
    timeoutSeconds: 15,
    ...noPasswordHashing,
    access: {
      // records: streams, held SETs, OAuth clients (receiver tokens) and the tenant policy.
      tables: { records: ['read', 'write'] },
      verificationKeys: 'read',
      // Verification events are signed and queued by the request that asks for them.
      setSigningKey: 'sign',
      setVerificationKeys: 'read',
      sendSignals: true,
    },
  },
  signalsFanout: {
    description: 'Turns security events from the records-table stream into signed SETs per SSF stream',
    memorySize: 512,
    timeoutSeconds: 60,
    ...noPasswordHashing,
    access: {
      // records: the streams list and held SETs (poll and paused streams); users: emails for email subjects.
      tables: { users: ['read'], records: ['read', 'write'] },
      setSigningKey: 'sign',
      sendSignals: true,
      readRecordsStream: true,
    },
  },
  signalsDelivery: {
    description: 'Pushes queued SETs to receivers (RFC 8935) with back-off',
    memorySize: 256,
    // Ten pushes in parallel, each bounded by SSF_PUSH_TIMEOUT_MS (5 s).
    timeoutSeconds: 30,
    ...noPasswordHashing,
    access: {
      // records: the stream's current endpoint and status; paused streams hold the SET.
      tables: { records: ['read', 'write'] },
    },
  },
  notifier: {
    description: 'Sends the queued security emails through SES',
    memorySize: 512,
    timeoutSeconds: 30,
    ...noPasswordHashing,
    access: {
      // identifiers: mail addressed by email is matched to its account; records: deliveries, reset tokens, rate.
      tables: { users: ['read'], identifiers: ['read'], records: ['read', 'write'] },
      sendMail: true,
      // Recipients that hit the send rate or a transient SES error are queued again with a delay.
      sendNotifications: true,
    },
  },
  dispatcher: {
    description: 'Walks the scope of due incidents and queues their emails',
    memorySize: 512,
    // It runs every minute and resumes from its cursor, so a run stops before the next one starts.
    timeoutSeconds: 60,
    ...noPasswordHashing,
    access: {
      // users write: a listed incident applies each account's forced reset / token bump before its mail.
      tables: { users: ['read', 'scan', 'write'], identifiers: ['read'], records: ['read', 'write'] },
      // Finds the incidents with work due through their sparse index, not by reading every incident.
      queryIndexes: { records: [DUE_INCIDENTS_INDEX] },
      sendNotifications: true,
    },
  },
  importWorker: {
    description: 'Imports a user file dropped in the import bucket, batch by batch, resumable',
    // Fast digests are wrapped in argon2id at import: CPU in proportion to memory, as for the hashing routes.
    ...passwordHashing,
    // Lambda's maximum; the job stops starting batches a minute before and queues its continuation.
    timeoutSeconds: 900,
    access: {
      tables: {
        // Import transactions write users and their identifier guards; records hold the job checkpoint.
        users: ['write'],
        identifiers: ['write'],
        records: ['read', 'write'],
      },
      readImportObjects: true,
      requeueImports: true,
    },
  },
  securityEventsPublisher: {
    description: 'Publishes the security events of the records table stream to the EventBridge bus',
    memorySize: 256,
    // Three PutEvents attempts per chunk of ten, 3 s each at most, chunks in parallel.
    timeoutSeconds: 30,
    // It imports nothing of shared/app.ts.
    ...noPasswordHashing,
    // It never reads or writes a table itself: Lambda reads the stream for it.
    access: { tables: {}, readRecordsStream: true, publishSecurityEvents: true },
  },
  keyRotation: {
    description: 'Creates and rotates the JWT signing key',
    memorySize: 256,
    timeoutSeconds: 30,
    ...noPasswordHashing,
    access: { tables: {}, signingKey: 'rotate', verificationKeys: 'publish' },
  },
};
