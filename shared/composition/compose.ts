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
import { AttemptsStore } from '../stores/attempts-store.js';
import { AuthorizationRequestsStore } from '../stores/authorization-requests-store.js';
import { CampaignAudience } from '../stores/campaign-audience.js';
import { DeliveriesStore } from '../stores/deliveries-store.js';
import { DeviceAuthorizationsStore } from '../stores/device-authorizations-store.js';
import { createIdempotencyStore } from '../stores/idempotency-store.js';
import { IncidentAudienceStore } from '../stores/incident-audience-store.js';
import { IncidentDeliveriesStore } from '../stores/incident-deliveries-store.js';
import { IncidentsStore } from '../stores/incidents-store.js';
import { OAuthClientsStore } from '../stores/oauth-clients-store.js';
import { ResetTokensStore } from '../stores/reset-tokens-store.js';
import { createRevocationStateReader } from '../stores/revocation-state.js';
import { SecurityEventsStore } from '../stores/security-events-store.js';
import { createDynamoSendRateLimiter } from '../stores/send-rate-limiter.js';
import { SessionsStore } from '../stores/sessions-store.js';
import { SsoFlowsStore } from '../stores/sso-flows-store.js';
import { SsoLinksStore } from '../stores/sso-links-store.js';
import { SsoLoginCodesStore } from '../stores/sso-login-codes-store.js';
import { TenantPolicyStore } from '../stores/tenant-policy-store.js';
import { ThrottleStore } from '../stores/throttle-store.js';
import { UsersStore } from '../stores/users-store.js';
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
  const mail = adapters.mail?.(config) ?? {
    mailer: notInThisFunction<Deps['mailer']>('The mailer'),
    bulkMailer: notInThisFunction<Deps['bulkMailer']>('The bulk mailer'),
  };
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
    resetTokens: new ResetTokensStore(db, config.tables.records),
    deliveries: new DeliveriesStore(db, config.tables.records),
    ...mail,
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
    dispatcherTrigger:
      adapters.dispatcherTrigger?.(config) ??
      notInThisFunction<Deps['dispatcherTrigger']>('The dispatcher trigger'),
    idempotency: createIdempotencyStore(clients.dynamodbClient, config.tables.records),
    identityProviders:
      adapters.identityProviders?.(config, clients) ??
      notInThisFunction<Deps['identityProviders']>('The SSO identity providers'),
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
