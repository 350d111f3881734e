import { dirname, join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { type AwsClients, createAwsClients } from './aws/clients.js';
import { createHibpChecker } from './aws/hibp-breached-password-checker.js';
import { createKmsSecretBox } from './aws/kms-secret-box.js';
import { createLambdaDispatcherTrigger } from './aws/lambda-dispatcher-trigger.js';
import { createSecretsManagerKeyStore } from './aws/secrets-manager-key-store.js';
import { createSesBulkMailer } from './aws/ses-bulk-mailer.js';
import { createSesMailer } from './aws/ses-mailer.js';
import { createSqsNotificationQueue } from './aws/sqs-notification-queue.js';
import type { Config } from './config.js';
import { createAccessTokens } from './crypto/access-tokens.js';
import { createFileKeyStore } from './crypto/key-store.js';
import { createLocalSecretBox } from './crypto/local-secret-box.js';
import { createArgon2Hasher } from './crypto/password-hasher.js';
import { loadPasswordBlocklist } from './domain/password-blocklist.js';
import { type Clock, systemClock } from './ports/clock.js';
import { inProcessDispatcherTrigger } from './ports/dispatcher-trigger.js';
import { CampaignAudience } from './stores/campaign-audience.js';
import { DeliveriesStore } from './stores/deliveries-store.js';
import { IncidentAudienceStore } from './stores/incident-audience-store.js';
import { IncidentDeliveriesStore } from './stores/incident-deliveries-store.js';
import { IncidentsStore } from './stores/incidents-store.js';
import { ResetTokensStore } from './stores/reset-tokens-store.js';
import { createRevocationStateReader } from './stores/revocation-state.js';
import { SecurityEventsStore } from './stores/security-events-store.js';
import { createDynamoSendRateLimiter } from './stores/send-rate-limiter.js';
import { SessionsStore } from './stores/sessions-store.js';
import { TenantPolicyStore } from './stores/tenant-policy-store.js';
import { ThrottleStore } from './stores/throttle-store.js';
import { UsersStore } from './stores/users-store.js';
import type { Deps } from './use-cases/deps.js';

/**
 * The SES client for campaign bulk sends: one attempt per call. The shared client retries, and an SDK retry
 * after a timeout can mail 50 people a second time; the notifier handles retries itself, with claims.
 */
export function createBulkSesClient(config: Config): SESv2Client {
  return new SESv2Client({
    region: config.region,
    endpoint: config.endpoints.ses,
    maxAttempts: 1,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 1_000 },
  });
}

/** Fail-open is deliberate, but never silent: one structured line per skipped check. */
const breachLog = (reason: string) =>
  console.warn(
    JSON.stringify({ level: 'WARN', message: 'breached-password check skipped (fail open)', reason }),
  );

/** The composition root: wires real adapters into the ports use-cases take. Called once per cold start. */
export function createDeps(
  config: Config,
  clients: AwsClients = createAwsClients(config),
  clock: Clock = systemClock,
  bulkSes: SESv2Client = createBulkSesClient(config),
): Deps {
  const db = clients.dynamodb;
  const incidents = new IncidentsStore(db, config.tables.records);
  const tenantPolicy = new TenantPolicyStore(db, config.tables.records);
  const keyStore =
    config.signingKey.source === 'file'
      ? createFileKeyStore(config.signingKey.file)
      : createSecretsManagerKeyStore(clients.secretsManager, config.signingKey.secretArn);
  const secretBox = config.totpKmsKeyId
    ? createKmsSecretBox(new KMSClient({ region: config.region }), config.totpKmsKeyId)
    : createLocalSecretBox(
        join(dirname(config.signingKey.source === 'file' ? config.signingKey.file : '.'), 'totp-secret.key'),
      );
  return {
    config,
    clock,
    users: new UsersStore(db, config.tables),
    sessions: new SessionsStore(db, config.tables.sessions),
    tenantPolicy,
    revocation: createRevocationStateReader({
      db,
      tables: config.tables,
      tenantPolicy,
      clock,
      maxAgeMs: config.revocationCacheMs,
    }),
    events: new SecurityEventsStore(db, config.tables.records),
    throttles: new ThrottleStore(db, config.tables.records),
    hasher: createArgon2Hasher(config.argon2),
    accessTokens: createAccessTokens(keyStore, config.jwt, () => clock.now().getTime()),
    keyStore,
    passwordBlocklist: loadPasswordBlocklist(),
    breachedPasswords: config.breachedPasswordCheck.enabled
      ? createHibpChecker({
          baseUrl: config.breachedPasswordCheck.apiUrl,
          timeoutMs: config.breachedPasswordCheck.timeoutMs,
          onUnavailable: (reason) => breachLog(reason),
        })
      : undefined,
    notifications: createSqsNotificationQueue(clients.sqs, config.notificationsQueueUrl),
    secretBox,
    resetTokens: new ResetTokensStore(db, config.tables.records),
    deliveries: new DeliveriesStore(db, config.tables.records),
    mailer: createSesMailer(clients.ses, {
      from: config.mailFrom,
      configurationSet: config.sesConfigurationSet,
    }),
    sendRate: createDynamoSendRateLimiter({
      db,
      table: config.tables.records,
      clock,
      maxPerSecond: config.sesMaxSendRate,
    }),
    incidents,
    incidentDeliveries: new IncidentDeliveriesStore(
      db,
      config.tables.records,
      incidents,
      config.sesMaxSendRate,
    ),
    audience: new CampaignAudience(db, config.tables),
    listedAudience: new IncidentAudienceStore(db, config.tables),
    bulkMailer: createSesBulkMailer(bulkSes, {
      from: config.mailFrom,
      configurationSet: config.sesConfigurationSet,
    }),
    dispatcherTrigger: config.dispatcherFunctionName
      ? createLambdaDispatcherTrigger({ functionName: config.dispatcherFunctionName, region: config.region })
      : inProcessDispatcherTrigger,
  };
}
