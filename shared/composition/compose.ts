import type { AwsClients } from '../aws/clients.js';
import { createHibpChecker } from '../aws/hibp-breached-password-checker.js';
import { createPowertoolsSecurityMetrics } from '../aws/powertools-security-metrics.js';
import {
  createSecretsManagerKeyStore,
  createSecretsManagerPublicKeys,
} from '../aws/secrets-manager-key-store.js';
import { createSqsNotificationQueue } from '../aws/sqs-notification-queue.js';
import type { Config } from '../config.js';
import { createAccessTokens } from '../crypto/access-tokens.js';
import {
  createFileKeyStore,
  type KeyStore,
  type PublicKeySource,
  publicKeysOf,
} from '../crypto/key-store.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { createLogOperatorAlerts } from '../ports/operator-alerts.js';
import { noSecurityMetrics } from '../ports/security-metrics.js';
import { DynamoDbAttemptCounters } from '../stores/attempts-store.js';
import { DynamoDbAuthorizationRequestsStore } from '../stores/authorization-requests-store.js';
import { DynamoDbCampaignAudience } from '../stores/campaign-audience.js';
import { DynamoDbDeliveriesStore } from '../stores/deliveries-store.js';
import { DynamoDbDeviceAuthorizationsStore } from '../stores/device-authorizations-store.js';
import { createIdempotencyStore } from '../stores/idempotency-store.js';
import { DynamoDbIncidentAudienceStore } from '../stores/incident-audience-store.js';
import { DynamoDbIncidentDeliveriesStore } from '../stores/incident-deliveries-store.js';
import { DynamoDbIncidentsStore } from '../stores/incidents-store.js';
import { DynamoDbOAuthClientsStore } from '../stores/oauth-clients-store.js';
import { DynamoDbResetTokensStore } from '../stores/reset-tokens-store.js';
import { createRevocationStateReader } from '../stores/revocation-state.js';
import { DynamoDbSecurityEventsStore } from '../stores/security-events-store.js';
import { createDynamoSendRateLimiter } from '../stores/send-rate-limiter.js';
import { DynamoDbSessionsStore } from '../stores/sessions-store.js';
import { DynamoDbSsoFlowsStore } from '../stores/sso-flows-store.js';
import { DynamoDbSsoLinksStore } from '../stores/sso-links-store.js';
import { DynamoDbSsoLoginCodesStore } from '../stores/sso-login-codes-store.js';
import { DynamoDbTenantPolicyStore } from '../stores/tenant-policy-store.js';
import { DynamoDbThrottleStore } from '../stores/throttle-store.js';
import { DynamoDbUsersStore } from '../stores/users-store.js';
import type { Deps } from '../use-cases/deps.js';

/**
 * The adapters only some functions use, each behind its own module (shared/composition/*.ts) so that a function's
 * bundle holds, and its cold start loads, only those it lists: argon2, the blocklist, KMS, SES, the Lambda
 * client, openid-client. A function passes the ones its routes need (functions/commons/runtime.ts callers);
 * shared/app.ts passes them all (local scripts, tests, bench).
 */
export interface FunctionAdapters {
  readonly hasher?: (config: Config) => Deps['hasher'];
  readonly passwordBlocklist?: () => Deps['passwordBlocklist'];
  readonly secretBox?: (config: Config) => Deps['secretBox'];
  readonly mail?: (config: Config) => Pick<Deps, 'mailer' | 'bulkMailer'>;
  readonly dispatcherTrigger?: (config: Config) => Deps['dispatcherTrigger'];
  readonly identityProviders?: (config: Config, clients: AwsClients) => Deps['identityProviders'];
}

export class AdapterNotInFunctionError extends Error {
  override readonly name = 'AdapterNotInFunctionError';
}

/**
 * Stands in for a port this function was not built with: any use fails loudly, naming the port, instead of the
 * function carrying (and loading at every cold start) an adapter its routes never call.
 */
function notInThisFunction<T extends object>(port: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      // Not a thenable: `await` on a Deps member must not call into the proxy.
      if (property === 'then' || typeof property === 'symbol') return undefined;
      return () => {
        throw new AdapterNotInFunctionError(
          `${port} is not built for this function (add it to the function's adapters in functions/)`,
        );
      };
    },
  });
}

/** For functions without VERIFICATION_KEYS_SECRET_ARN: every token check fails closed, loudly. */
const noPublicKeys: PublicKeySource = {
  load: () =>
    Promise.reject(new Error('This function has no verification keys (VERIFICATION_KEYS_SECRET_ARN)')),
};

/** The composition root: wires real adapters into the ports use-cases take. Called once per cold start. */
export function composeDeps(
  config: Config,
  adapters: FunctionAdapters,
  clients: AwsClients,
  clock: Clock,
  logger: Logger,
): Deps {
  const db = clients.dynamodb;
  const incidents = new DynamoDbIncidentsStore(db, config.tables.records);
  const tenantPolicy = new DynamoDbTenantPolicyStore(db, config.tables.records);
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
  const mail = adapters.mail?.(config) ?? {
    mailer: notInThisFunction<Deps['mailer']>('The mailer'),
    bulkMailer: notInThisFunction<Deps['bulkMailer']>('The bulk mailer'),
  };
  return {
    config,
    clock,
    logger,
    users: new DynamoDbUsersStore(db, config.tables),
    sessions: new DynamoDbSessionsStore(db, config.tables.sessions, config.tables.records),
    tenantPolicy,
    revocation: createRevocationStateReader({
      db,
      tables: config.tables,
      tenantPolicy,
      clock,
      maxAgeMs: config.revocationCacheMs,
    }),
    events: new DynamoDbSecurityEventsStore(db, config.tables.records),
    throttles: new DynamoDbThrottleStore(db, config.tables.records),
    attempts: new DynamoDbAttemptCounters(db, config.tables.records),
    hasher: adapters.hasher?.(config) ?? notInThisFunction<Deps['hasher']>('The password hasher'),
    passwordBlocklist:
      adapters.passwordBlocklist?.() ??
      notInThisFunction<Deps['passwordBlocklist']>('The password blocklist'),
    accessTokens: createAccessTokens(keyStore, config.jwt, nowMs, publicKeys),
    publicKeys,
    breachedPasswords: config.breachedPasswordCheck.enabled
      ? createHibpChecker({
          baseUrl: config.breachedPasswordCheck.apiUrl,
          timeoutMs: config.breachedPasswordCheck.timeoutMs,
          // Fail-open is deliberate, but never silent: one structured line per skipped check.
          onUnavailable: (reason) => logger.warn('breached-password check skipped (fail open)', { reason }),
        })
      : undefined,
    notifications: createSqsNotificationQueue(clients.sqs, config.notificationsQueueUrl),
    secretBox: adapters.secretBox?.(config) ?? notInThisFunction<Deps['secretBox']>('The TOTP secret box'),
    resetTokens: new DynamoDbResetTokensStore(db, config.tables.records),
    deliveries: new DynamoDbDeliveriesStore(db, config.tables.records),
    ...mail,
    sendRate: createDynamoSendRateLimiter({
      db,
      table: config.tables.records,
      clock,
      maxPerSecond: config.sesMaxSendRate,
    }),
    incidents,
    incidentDeliveries: new DynamoDbIncidentDeliveriesStore(
      db,
      config.tables.records,
      incidents,
      config.sesMaxSendRate,
    ),
    audience: new DynamoDbCampaignAudience(db, config.tables),
    listedAudience: new DynamoDbIncidentAudienceStore(db, config.tables),
    dispatcherTrigger:
      adapters.dispatcherTrigger?.(config) ??
      notInThisFunction<Deps['dispatcherTrigger']>('The dispatcher trigger'),
    idempotency: createIdempotencyStore(clients.dynamodbClient, config.tables.records),
    identityProviders:
      adapters.identityProviders?.(config, clients) ??
      notInThisFunction<Deps['identityProviders']>('The SSO identity providers'),
    ssoFlows: new DynamoDbSsoFlowsStore(db, config.tables.records),
    ssoLinks: new DynamoDbSsoLinksStore(db, config.tables),
    ssoLoginCodes: new DynamoDbSsoLoginCodesStore(db, config.tables.records),
    operatorAlerts: createLogOperatorAlerts(),
    metrics: config.metrics === 'emf' ? createPowertoolsSecurityMetrics() : noSecurityMetrics,
    oauthClients: new DynamoDbOAuthClientsStore(db, config.tables.records),
    authorizationRequests: new DynamoDbAuthorizationRequestsStore(db, config.tables.records),
    deviceAuthorizations: new DynamoDbDeviceAuthorizationsStore(db, config.tables.records),
  };
}
