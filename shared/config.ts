import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { ProgressiveDelay } from './domain/attempt-limits.js';
import type { tableDefinitions } from './tables.js';

/**
 * argon2id parameters: the floor the contract sets (m = 19456 KiB, t = 2, p = 1), the functions' default and what
 * infra deploys (infra/account-shield-stack.ts reads these, so the two cannot disagree).
 */
export const ARGON2_DEFAULTS = { memoryKib: 19456, iterations: 2, parallelism: 1 } as const;

/** How long a function may reuse a revocation state it read by default (the contract allows up to 1 s). */
export const DEFAULT_REVOCATION_CACHE_MS = 500;

const positiveInt = z.coerce.number().int().positive();

/**
 * AWS_REQUEST_TIMEOUT_MS: how long one AWS request (DynamoDB, SQS, Secrets Manager) may take before it is
 * abandoned and retried; with the SDK's 3 attempts a hung dependency becomes a 503 within the function's time
 * budget. Raised locally, where an emulator on a loaded machine can stall for seconds. Shared with the
 * authorizer's own, smaller configuration.
 */
export const awsRequestTimeoutSetting = positiveInt.max(30_000).default(3000);

/**
 * One OpenID Connect provider. The client secret is given inline only by the local runner; on AWS it lives in
 * Secrets Manager and only its ARN is in the environment (read once at cold start).
 */
const ssoProviderSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'Must be 1-32 characters of a-z, 0-9 or "-".'),
    displayName: z.string().trim().min(1).max(64),
    issuer: z.string().url(),
    clientId: z.string().min(1).max(512),
    clientSecret: z.string().min(1).max(1024).optional(),
    clientSecretArn: z.string().min(1).optional(),
    /** Create an SSO account on the first sign-in of a verified email nobody uses yet. */
    jitCreate: z.boolean().default(false),
    scopes: z.string().min(1).default('openid email profile'),
  })
  .refine((p) => (p.clientSecret === undefined) !== (p.clientSecretArn === undefined), {
    message: 'Exactly one of clientSecret or clientSecretArn is required.',
  })
  .refine(
    (p) => {
      const url = new URL(p.issuer);
      // Plain http only for a provider on this machine (the local IdP); anything remote must be https.
      return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    },
    { message: 'The issuer must be https (http only on loopback).' },
  );

export type SsoProviderConfig = z.infer<typeof ssoProviderSchema>;

const ssoProvidersJson = z
  .string()
  .default('[]')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'Must be a JSON array of providers.' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(ssoProviderSchema)
      .max(20)
      .refine((list) => new Set(list.map((p) => p.id)).size === list.length, {
        message: 'Provider ids must be unique.',
      }),
  );
const optionalUrl = z.string().url().optional();

const schema = z.object({
  USERS_TABLE: z.string().min(1),
  IDENTIFIERS_TABLE: z.string().min(1),
  SESSIONS_TABLE: z.string().min(1),
  RECORDS_TABLE: z.string().min(1),
  NOTIFICATIONS_QUEUE_URL: z.string().url().optional(),
  /** The S3 import job's queue; set only on the import worker, which queues its own continuations there. */
  IMPORT_QUEUE_URL: z.string().url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Local emulators only; unset on AWS. */
  DYNAMODB_ENDPOINT: optionalUrl,
  SQS_ENDPOINT: optionalUrl,
  SES_ENDPOINT: optionalUrl,
  /** The local runner's stand-in for the Lambda API (scripts/local/lambda-service.ts); unset on AWS. */
  LAMBDA_ENDPOINT: optionalUrl,
  AWS_REQUEST_TIMEOUT_MS: awsRequestTimeoutSetting,
  PUBLIC_APP_URL: z.string().url(),
  MAIL_FROM: z.string().email().default('security@account-shield.local'),
  SES_CONFIGURATION_SET: z.string().min(1).optional(),
  /** Emails per second across all notifiers; keep it at or under the SES account's sending quota. */
  SES_MAX_SEND_RATE: positiveInt.default(14),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  SIGNING_KEY_SOURCE: z.enum(['file', 'secrets-manager']).default('file'),
  SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** The private signing keys: set only for functions that mint tokens (infra/workloads.ts, signingKey: 'sign'). */
  SIGNING_KEY_SECRET_ARN: z.string().min(1).optional(),
  /** The public key set: set for functions that verify access tokens or serve the JWKS. */
  VERIFICATION_KEYS_SECRET_ARN: z.string().min(1).optional(),
  ARGON2_MEMORY_KIB: positiveInt.min(ARGON2_DEFAULTS.memoryKib).default(ARGON2_DEFAULTS.memoryKib),
  ARGON2_ITERATIONS: positiveInt.min(ARGON2_DEFAULTS.iterations).default(ARGON2_DEFAULTS.iterations),
  ARGON2_PARALLELISM: positiveInt.max(16).default(ARGON2_DEFAULTS.parallelism),
  /** How long a Lambda may reuse a revocation state it read; the contract allows at most one second. */
  REVOCATION_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(DEFAULT_REVOCATION_CACHE_MS),
  /**
   * How long after a rotation the immediately previous refresh token still gets a valid pair for the same session
   * (two tabs or apps refreshing at once); 0 turns the grace off, so any second use ends the session.
   */
  REFRESH_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
  /** KMS key for TOTP secrets on AWS; unset locally, where an AES key file beside the signing key is used. */
  TOTP_KMS_KEY_ID: z.string().min(1).optional(),
  /** Optional online breached-password check (Have I Been Pwned range API); off by default. */
  BREACHED_PASSWORD_CHECK: z.enum(['off', 'hibp']).default('off'),
  HIBP_API_URL: z.string().url().default('https://api.pwnedpasswords.com'),
  HIBP_TIMEOUT_MS: positiveInt.max(10_000).default(1500),
  /** Secret checks (password, one-time code) one source may make on one account per window, hard (ADR 0006). */
  LOGIN_MAX_FAILURES_PER_ACCOUNT_SOURCE: positiveInt.default(5),
  /** Account-wide checks per account window from sources it never signed in from, before progressive delay. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(10),
  /** Failed sign-ins per source address across all accounts (password spraying), per window. */
  LOGIN_MAX_FAILURES_PER_IP: positiveInt.default(100),
  LOGIN_THROTTLE_WINDOW_SECONDS: positiveInt.default(900),
  /** The account-wide counter's window: long, so the delay keeps doubling through a slow distributed attack. */
  LOGIN_ACCOUNT_WINDOW_SECONDS: positiveInt.default(86_400),
  /** First progressive delay once the account-wide allowance is spent; doubles per check up to the maximum. */
  LOGIN_DELAY_BASE_MS: positiveInt.default(1000),
  LOGIN_DELAY_MAX_SECONDS: positiveInt.default(300),
  /** How long a source an account fully signed in from skips the account-wide delay. */
  LOGIN_KNOWN_SOURCE_DAYS: positiveInt.max(365).default(30),
  /** Self sign-ups per source address per hour. */
  SIGNUP_MAX_PER_IP_PER_HOUR: positiveInt.default(100),
  FORGOT_PASSWORD_MAX_PER_IP_PER_HOUR: positiveInt.default(30),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  /** CloudWatch metrics as EMF log lines (shared/ports/security-metrics.ts); default: on in Lambda, off elsewhere. */
  METRICS: z.enum(['emf', 'off']).optional(),
  /**
   * The dispatcher Lambda the admin function invokes for an immediate send. Unset: no trigger, the schedule picks
   * the incident up within a minute (scripts and benchmarks that build their own dependencies).
   */
  DISPATCHER_FUNCTION_NAME: z.string().min(1).optional(),
  /** Parallel Scan segments a `scope: all` campaign is walked with; fixed per round once the walk starts. */
  CAMPAIGN_SCAN_SEGMENTS: positiveInt.max(64).default(4),
  /** Users read per Scan page (one SQS batch and one cursor save per page, so bigger pages mean fewer requests). */
  CAMPAIGN_PAGE_SIZE: positiveInt.min(50).max(5000).default(1000),
  /** How long claimed-but-unsettled recipients may stay silent before they are counted as failed (unknown outcome). */
  CAMPAIGN_SETTLE_GRACE_SECONDS: z.coerce.number().min(0).default(900),
  /** The dispatcher stops starting new pages this long before its Lambda deadline. */
  DISPATCHER_SAFETY_MARGIN_MS: z.coerce.number().int().min(0).default(10_000),
  /** Reminder rounds of a forced-reset incident with `notify.remindAfterHours`. */
  MAX_INCIDENT_REMINDERS: z.coerce.number().int().min(0).max(10).default(2),
  /** OpenID Connect providers for SSO accounts (JSON array, see README "Sign-in with an identity provider"). */
  SSO_PROVIDERS: ssoProvidersJson,
  /** Origin of this API, from which the SSO callback URLs are built. @default PUBLIC_APP_URL */
  API_BASE_URL: optionalUrl,
  /** SSO callbacks per source IP and throttle window (LOGIN_THROTTLE_WINDOW_SECONDS). */
  SSO_CALLBACK_MAX_PER_IP: positiveInt.default(60),
  /** RFC 8628 device codes: life and the polling interval the device is told (tests shorten both). */
  OAUTH_DEVICE_CODE_TTL_SECONDS: positiveInt.max(1800).default(600),
  OAUTH_DEVICE_POLL_INTERVAL_SECONDS: positiveInt.max(60).default(5),
  /** Wrong user codes typed on /device (or sent to the device routes) per account and per source IP per window. */
  OAUTH_USER_CODE_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(10),
  OAUTH_USER_CODE_MAX_FAILURES_PER_IP: positiveInt.default(30),
  OAUTH_USER_CODE_THROTTLE_WINDOW_SECONDS: positiveInt.default(900),
  // Security events out (OpenID Shared Signals Framework 1.0; README "Security events out").
  /** The push deliveries' queue; set on the fan-out and the SSF API (verification events), read by the deliverer. */
  SIGNALS_QUEUE_URL: z.string().url().optional(),
  /** Local key file of the Security Event Token key set (RS256). @default set-signing-key.json beside SIGNING_KEY_FILE */
  SET_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** On AWS: the SET private key set (functions that sign SETs) and its public half (the SSF jwks_uri). */
  SET_SIGNING_KEY_SECRET_ARN: z.string().min(1).optional(),
  SET_VERIFICATION_KEYS_SECRET_ARN: z.string().min(1).optional(),
  /** Local development only: receivers on loopback addresses, over plain http. Never set on AWS. */
  SSF_ALLOW_LOOPBACK_RECEIVERS: z.enum(['true', 'false']).default('false'),
  /** Whole push exchange (connect, send, answer) per SET. */
  SSF_PUSH_TIMEOUT_MS: positiveInt.max(30_000).default(5000),
  /** First retry delay of a failed push; doubles per attempt up to the maximum (SQS visibility timeout). */
  SSF_RETRY_BASE_SECONDS: positiveInt.max(900).default(5),
  SSF_RETRY_MAX_SECONDS: positiveInt.max(43_200).default(900),
  SSF_MAX_STREAMS_PER_CLIENT: positiveInt.max(100).default(5),
  /** SSF 1.0 min_verification_interval. */
  SSF_MIN_VERIFICATION_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(3600).default(5),
});

export type Config = Readonly<{
  /** Whether security metrics are written (EMF) or dropped. */
  metrics: 'emf' | 'off';
  tables: Readonly<Record<keyof typeof tableDefinitions, string>>;
  notificationsQueueUrl: string | undefined;
  importQueueUrl: string | undefined;
  region: string;
  endpoints: Readonly<{ dynamodb?: string; sqs?: string; ses?: string; lambda?: string }>;
  awsRequestTimeoutMs: number;
  publicAppUrl: string;
  mailFrom: string;
  sesConfigurationSet: string | undefined;
  sesMaxSendRate: number;
  jwt: Readonly<{ issuer: string; audience: string }>;
  signingKey: Readonly<
    | { source: 'file'; file: string }
    | {
        source: 'secrets-manager';
        /** Undefined for functions that must never sign. */
        secretArn: string | undefined;
        /** Undefined for functions that never check an access token. */
        publicKeysSecretArn: string | undefined;
      }
  >;
  argon2: Readonly<{ memoryCost: number; timeCost: number; parallelism: number }>;
  revocationCacheMs: number;
  refreshGraceMs: number;
  totpKmsKeyId: string | undefined;
  breachedPasswordCheck: Readonly<{ enabled: boolean; apiUrl: string; timeoutMs: number }>;
  attempts: Readonly<{
    perAccountAndSource: number;
    perIp: number;
    windowSeconds: number;
    accountWindowSeconds: number;
    accountDelay: ProgressiveDelay;
    knownSourceSeconds: number;
  }>;
  signUpMaxPerIpPerHour: number;
  logLevel: string;
  forgotPasswordMaxPerIpPerHour: number;
  dispatcherFunctionName: string | undefined;
  campaigns: Readonly<{
    scanSegments: number;
    pageSize: number;
    settleGraceMs: number;
    dispatcherSafetyMarginMs: number;
    maxReminders: number;
  }>;
  sso: Readonly<{
    providers: readonly SsoProviderConfig[];
    apiBaseUrl: string;
    callbackMaxPerIp: number;
  }>;
  signals: Readonly<{
    queueUrl: string | undefined;
    keys: Readonly<
      | { source: 'file'; file: string }
      | { source: 'secrets-manager'; secretArn: string | undefined; publicKeysSecretArn: string | undefined }
    >;
    allowLoopbackReceivers: boolean;
    pushTimeoutMs: number;
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    maxStreamsPerClient: number;
    minVerificationIntervalSeconds: number;
  }>;
  oauth: Readonly<{
    deviceCodeTtlSeconds: number;
    devicePollIntervalSeconds: number;
    userCodeThrottle: Readonly<{
      maxFailuresPerAccount: number;
      maxFailuresPerIp: number;
      windowSeconds: number;
    }>;
  }>;
}>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment once at cold start; a missing or bad variable fails fast with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  let signingKey: Config['signingKey'];
  if (e.SIGNING_KEY_SOURCE === 'file') {
    if (!e.SIGNING_KEY_FILE) throw new ConfigError('Invalid configuration: SIGNING_KEY_FILE is required');
    signingKey = { source: 'file', file: e.SIGNING_KEY_FILE };
  } else {
    // Each function gets only the key secrets its role may read (least privilege); none at all is fine for the
    // notifier, the dispatcher and admin, which neither sign nor verify access tokens.
    signingKey = {
      source: 'secrets-manager',
      secretArn: e.SIGNING_KEY_SECRET_ARN,
      publicKeysSecretArn: e.VERIFICATION_KEYS_SECRET_ARN,
    };
    if (!e.TOTP_KMS_KEY_ID)
      throw new ConfigError('Invalid configuration: TOTP_KMS_KEY_ID is required with secrets-manager keys');
  }
  return {
    metrics: e.METRICS ?? (env['AWS_LAMBDA_FUNCTION_NAME'] ? 'emf' : 'off'),
    tables: {
      users: e.USERS_TABLE,
      identifiers: e.IDENTIFIERS_TABLE,
      sessions: e.SESSIONS_TABLE,
      records: e.RECORDS_TABLE,
    },
    notificationsQueueUrl: e.NOTIFICATIONS_QUEUE_URL,
    importQueueUrl: e.IMPORT_QUEUE_URL,
    region: e.AWS_REGION,
    endpoints: {
      dynamodb: e.DYNAMODB_ENDPOINT,
      sqs: e.SQS_ENDPOINT,
      ses: e.SES_ENDPOINT,
      lambda: e.LAMBDA_ENDPOINT,
    },
    awsRequestTimeoutMs: e.AWS_REQUEST_TIMEOUT_MS,
    publicAppUrl: e.PUBLIC_APP_URL.replace(/\/+$/, ''),
    mailFrom: e.MAIL_FROM,
    sesConfigurationSet: e.SES_CONFIGURATION_SET,
    sesMaxSendRate: e.SES_MAX_SEND_RATE,
    jwt: { issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE },
    signingKey,
    argon2: {
      memoryCost: e.ARGON2_MEMORY_KIB,
      timeCost: e.ARGON2_ITERATIONS,
      parallelism: e.ARGON2_PARALLELISM,
    },
    revocationCacheMs: e.REVOCATION_CACHE_MS,
    refreshGraceMs: e.REFRESH_GRACE_SECONDS * 1000,
    totpKmsKeyId: e.TOTP_KMS_KEY_ID,
    breachedPasswordCheck: {
      enabled: e.BREACHED_PASSWORD_CHECK === 'hibp',
      apiUrl: e.HIBP_API_URL,
      timeoutMs: e.HIBP_TIMEOUT_MS,
    },
    attempts: {
      perAccountAndSource: e.LOGIN_MAX_FAILURES_PER_ACCOUNT_SOURCE,
      perIp: e.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: e.LOGIN_THROTTLE_WINDOW_SECONDS,
      accountWindowSeconds: e.LOGIN_ACCOUNT_WINDOW_SECONDS,
      accountDelay: {
        freeChecks: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
        baseMs: e.LOGIN_DELAY_BASE_MS,
        maxMs: e.LOGIN_DELAY_MAX_SECONDS * 1000,
      },
      knownSourceSeconds: e.LOGIN_KNOWN_SOURCE_DAYS * 86_400,
    },
    signUpMaxPerIpPerHour: e.SIGNUP_MAX_PER_IP_PER_HOUR,
    forgotPasswordMaxPerIpPerHour: e.FORGOT_PASSWORD_MAX_PER_IP_PER_HOUR,
    logLevel: e.LOG_LEVEL,
    dispatcherFunctionName: e.DISPATCHER_FUNCTION_NAME,
    campaigns: {
      scanSegments: e.CAMPAIGN_SCAN_SEGMENTS,
      pageSize: e.CAMPAIGN_PAGE_SIZE,
      settleGraceMs: e.CAMPAIGN_SETTLE_GRACE_SECONDS * 1000,
      dispatcherSafetyMarginMs: e.DISPATCHER_SAFETY_MARGIN_MS,
      maxReminders: e.MAX_INCIDENT_REMINDERS,
    },
    sso: {
      providers: e.SSO_PROVIDERS,
      apiBaseUrl: (e.API_BASE_URL ?? e.PUBLIC_APP_URL).replace(/\/+$/, ''),
      callbackMaxPerIp: e.SSO_CALLBACK_MAX_PER_IP,
    },
    signals: {
      queueUrl: e.SIGNALS_QUEUE_URL,
      keys:
        signingKey.source === 'file'
          ? {
              source: 'file',
              file: e.SET_SIGNING_KEY_FILE ?? join(dirname(signingKey.file), 'set-signing-key.json'),
            }
          : {
              source: 'secrets-manager',
              secretArn: e.SET_SIGNING_KEY_SECRET_ARN,
              publicKeysSecretArn: e.SET_VERIFICATION_KEYS_SECRET_ARN,
            },
      allowLoopbackReceivers: e.SSF_ALLOW_LOOPBACK_RECEIVERS === 'true',
      pushTimeoutMs: e.SSF_PUSH_TIMEOUT_MS,
      retryBaseSeconds: e.SSF_RETRY_BASE_SECONDS,
      retryMaxSeconds: e.SSF_RETRY_MAX_SECONDS,
      maxStreamsPerClient: e.SSF_MAX_STREAMS_PER_CLIENT,
      minVerificationIntervalSeconds: e.SSF_MIN_VERIFICATION_INTERVAL_SECONDS,
    },
    oauth: {
      deviceCodeTtlSeconds: e.OAUTH_DEVICE_CODE_TTL_SECONDS,
      devicePollIntervalSeconds: e.OAUTH_DEVICE_POLL_INTERVAL_SECONDS,
      userCodeThrottle: {
        maxFailuresPerAccount: e.OAUTH_USER_CODE_MAX_FAILURES_PER_ACCOUNT,
        maxFailuresPerIp: e.OAUTH_USER_CODE_MAX_FAILURES_PER_IP,
        windowSeconds: e.OAUTH_USER_CODE_THROTTLE_WINDOW_SECONDS,
      },
    },
  };
}
