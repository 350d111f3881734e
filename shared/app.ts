import { dirname, join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { type AwsClients, createAwsClients } from './aws/clients.js';
import { createHibpChecker } from './aws/hibp-breached-password-checker.js';
import { createKmsSecretBox } from './aws/kms-secret-box.js';
import { createLambdaDispatcherTrigger } from './aws/lambda-dispatcher-trigger.js';
import { createPowertoolsSecurityMetrics } from './aws/powertools-security-metrics.js';
import {
  createSecretsManagerKeyStore,
  createSecretsManagerPublicKeys,
} from './aws/secrets-manager-key-store.js';
import { createSesBulkMailer } from './aws/ses-bulk-mailer.js';
import { createSesMailer } from './aws/ses-mailer.js';
import { createSqsNotificationQueue } from './aws/sqs-notification-queue.js';
import type { Config } from './config.js';
import { createAccessTokens } from './crypto/access-tokens.js';
import { createFileKeyStore, type KeyStore, type PublicKeySource, publicKeysOf } from './crypto/key-store.js';
import { createLocalSecretBox } from './crypto/local-secret-box.js';
import { createArgon2Hasher } from './crypto/password-hasher.js';
import { loadPasswordBlocklist } from './domain/password-blocklist.js';
import { createLogger, invocationLogger } from './logging.js';
import { createOpenIdProviders } from './oidc/openid-providers.js';
import { type Clock, systemClock } from './ports/clock.js';
import { inProcessDispatcherTrigger } from './ports/dispatcher-trigger.js';
import type { Logger } from './ports/logger.js';
import { createLogOperatorAlerts } from './ports/operator-alerts.js';
import { noSecurityMetrics } from './ports/security-metrics.js';
import { AttemptsStore } from './stores/attempts-store.js';
import { AuthorizationRequestsStore } from './stores/authorization-requests-store.js';
import { CampaignAudience } from './stores/campaign-audience.js';
import { DeliveriesStore } from './stores/deliveries-store.js';
import { DeviceAuthorizationsStore } from './stores/device-authorizations-store.js';
import { createIdempotencyStore } from './stores/idempotency-store.js';
import { IncidentAudienceStore } from './stores/incident-audience-store.js';
import { IncidentDeliveriesStore } from './stores/incident-deliveries-store.js';
import { IncidentsStore } from './stores/incidents-store.js';
import { OAuthClientsStore } from './stores/oauth-clients-store.js';
import { ResetTokensStore } from './stores/reset-tokens-store.js';
import { createRevocationStateReader } from './stores/revocation-state.js';
import { SecurityEventsStore } from './stores/security-events-store.js';
import { createDynamoSendRateLimiter } from './stores/send-rate-limiter.js';
import { SessionsStore } from './stores/sessions-store.js';
import { SsoFlowsStore } from './stores/sso-flows-store.js';
import { SsoLinksStore } from './stores/sso-links-store.js';
import { SsoLoginCodesStore } from './stores/sso-login-codes-store.js';
import { TenantPolicyStore } from './stores/tenant-policy-store.js';
import { ThrottleStore } from './stores/throttle-store.js';
import { UsersStore } from './stores/users-store.js';
import type { Deps } from './use-cases/deps.js';

/**
 * The SES client for every mail, bulk and single: one attempt per call. The shared client retries, and an SDK
 * retry after a timeout can mail 50 people (or one) a second time; the notifier handles retries itself, with
 * claims, and only when SES said it did not take the mail.
 */
export function createBulkSesClient(config: Config): SESv2Client {
  return new SESv2Client({
    region: config.region,
    endpoint: config.endpoints.ses,
    maxAttempts: 1,
    // Without throwOnRequestTimeout the SDK only warns and waits on: a hung call would hold the notifier.
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 1_000, throwOnRequestTimeout: true },
  });
}

/** For functions without VERIFICATION_KEYS_SECRET_ARN: every token check fails closed, loudly. */
const noPublicKeys: PublicKeySource = {
  load: () =>
    Promise.reject(new Error('This function has no verification keys (VERIFICATION_KEYS_SECRET_ARN)')),
};

/** The composition root: wires real adapters into the ports use-cases take. Called once per cold start. */
export function createDeps(
  config: Config,
  clients: AwsClients = createAwsClients(config),
  clock: Clock = systemClock,
  bulkSes: SESv2Client = createBulkSesClient(config),
  logger: Logger = invocationLogger(createLogger(config.logLevel)),
): Deps {
  const db = clients.dynamodb;
  const incidents = new IncidentsStore(db, config.tables.records);
  const tenantPolicy = new TenantPolicyStore(db, config.tables.records);
  const nowMs = () => clock.now().getTime();
  let keyStore: KeyStore | undefined;
  let publicKeys: PublicKeySource;
  if (config.signingKey.source === 'file') {
    keyStore = createFileKeyStore(config.signingKey.file);
    publicKeys = publicKeysOf(keyStore);
  } else {
    const { secretArn, publicKeysSecretArn } = config.signingKey;
    keyStore = secretArn ? createSecretsManagerKeyStore(clients.secretsManager, secretArn, nowMs) : undefined;
    // Verification never reads the private secret, even in functions that may sign.
    publicKeys = publicKeysSecretArn
      ? createSecretsManagerPublicKeys(clients.secretsManager, publicKeysSecretArn, nowMs)
      : noPublicKeys;
  }
  const secretBox = config.totpKmsKeyId
    ? createKmsSecretBox(new KMSClient({ region: config.region }), config.totpKmsKeyId)
    : createLocalSecretBox(
        join(dirname(config.signingKey.source === 'file' ? config.signingKey.file : '.'), 'totp-secret.key'),
      );
  return {
    config,
    clock,
    logger,
    users: new UsersStore(db, config.tables),
    sessions: new SessionsStore(db, config.tables.sessions, config.tables.records),
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
    attempts: new AttemptsStore(db, config.tables.records),
    hasher: createArgon2Hasher(config.argon2),
    accessTokens: createAccessTokens(keyStore, config.jwt, nowMs, publicKeys),
    publicKeys,
    passwordBlocklist: loadPasswordBlocklist(),
    breachedPasswords: config.breachedPasswordCheck.enabled
      ? createHibpChecker({
          baseUrl: config.breachedPasswordCheck.apiUrl,
          timeoutMs: config.breachedPasswordCheck.timeoutMs,
          // Fail-open is deliberate, but never silent: one structured line per skipped check.
          onUnavailable: (reason) => logger.warn('breached-password check skipped (fail open)', { reason }),
        })
      : undefined,
    notifications: createSqsNotificationQueue(clients.sqs, config.notificationsQueueUrl),
    secretBox,
    resetTokens: new ResetTokensStore(db, config.tables.records),
    deliveries: new DeliveriesStore(db, config.tables.records),
    mailer: createSesMailer(bulkSes, {
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
    idempotency: createIdempotencyStore(clients.dynamodbClient, config.tables.records),
    identityProviders: createOpenIdProviders(config.sso.providers, async (secretArn) => {
      const secret = await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: secretArn }));
      if (!secret.SecretString) throw new Error(`Secret ${secretArn} has no string value`);
      return secret.SecretString;
    }),
    ssoFlows: new SsoFlowsStore(db, config.tables.records),
    ssoLinks: new SsoLinksStore(db, config.tables),
    ssoLoginCodes: new SsoLoginCodesStore(db, config.tables.records),
    operatorAlerts: createLogOperatorAlerts(),
    metrics: config.metrics === 'emf' ? createPowertoolsSecurityMetrics() : noSecurityMetrics,
    oauthClients: new OAuthClientsStore(db, config.tables.records),
    authorizationRequests: new AuthorizationRequestsStore(db, config.tables.records),
    deviceAuthorizations: new DeviceAuthorizationsStore(db, config.tables.records),
  };
}
