import type { Config } from '../config.js';
import type { AccessTokens } from '../crypto/access-tokens.js';
import type { PublicKeySource } from '../crypto/key-store.js';
import type { PasswordHasher } from '../crypto/password-hasher.js';
import type { AttemptCounters } from '../ports/attempt-counters.js';
import type { AuthorizationRequestsStore } from '../ports/authorization-requests-store.js';
import type { BreachedPasswordChecker } from '../ports/breached-password-checker.js';
import type { BulkMailer } from '../ports/bulk-mailer.js';
import type { CampaignAudience } from '../ports/campaign-audience.js';
import type { Clock } from '../ports/clock.js';
import type { DeliveriesStore } from '../ports/deliveries-store.js';
import type { DeviceAuthorizationsStore } from '../ports/device-authorizations-store.js';
import type { DispatcherTrigger } from '../ports/dispatcher-trigger.js';
import type { IdempotencyStore } from '../ports/idempotency-store.js';
import type { IdentityProviders } from '../ports/identity-providers.js';
import type { IncidentAudienceStore } from '../ports/incident-audience-store.js';
import type { IncidentDeliveriesStore } from '../ports/incident-deliveries-store.js';
import type { IncidentsStore } from '../ports/incidents-store.js';
import type { Logger } from '../ports/logger.js';
import type { Mailer } from '../ports/mailer.js';
import type { NotificationQueue } from '../ports/notification-queue.js';
import type { OAuthClientsStore } from '../ports/oauth-clients-store.js';
import type { OperatorAlerts } from '../ports/operator-alerts.js';
import type { ResetTokensStore } from '../ports/reset-tokens-store.js';
import type { RevocationStateReader } from '../ports/revocation-state.js';
import type { SecretBox } from '../ports/secret-box.js';
import type { SecurityEventsStore } from '../ports/security-events-store.js';
import type { SecurityMetrics } from '../ports/security-metrics.js';
import type { SendRateLimiter } from '../ports/send-rate-limiter.js';
import type { SessionsStore } from '../ports/sessions-store.js';
import type { SsoFlowsStore } from '../ports/sso-flows-store.js';
import type { SsoLinksStore } from '../ports/sso-links-store.js';
import type { SsoLoginCodesStore } from '../ports/sso-login-codes-store.js';
import type { TenantPolicyStore } from '../ports/tenant-policy-store.js';
import type { ThrottleStore } from '../ports/throttle-store.js';
import type { UsersStore } from '../ports/users-store.js';

/** Everything use-cases may depend on; each use-case takes only the part it needs (Pick<>). */
export interface Deps {
  readonly config: Config;
  readonly clock: Clock;
  /** Writes with the current invocation's request id (shared/logging.ts). */
  readonly logger: Logger;
  readonly users: UsersStore;
  readonly sessions: SessionsStore;
  readonly tenantPolicy: TenantPolicyStore;
  readonly revocation: RevocationStateReader;
  readonly events: SecurityEventsStore;
  readonly throttles: ThrottleStore;
  /** The attempt limiter's counters (every check of a password or one-time code goes through them). */
  readonly attempts: AttemptCounters;
  readonly hasher: PasswordHasher;
  readonly accessTokens: AccessTokens;
  /** Public keys only: the JWKS endpoint and token checks (signing happens inside accessTokens). */
  readonly publicKeys: PublicKeySource;
  readonly passwordBlocklist: ReadonlySet<string>;
  readonly breachedPasswords: BreachedPasswordChecker | undefined;
  readonly notifications: NotificationQueue;
  readonly secretBox: SecretBox;
  readonly resetTokens: ResetTokensStore;
  readonly deliveries: DeliveriesStore;
  readonly mailer: Mailer;
  readonly sendRate: SendRateLimiter;
  readonly incidents: IncidentsStore;
  readonly incidentDeliveries: IncidentDeliveriesStore;
  /** Read-only view of users and identifiers for campaign walks. */
  readonly audience: CampaignAudience;
  /** Entries, claims and per-account effects of listed audiences (`scope: list`). */
  readonly listedAudience: IncidentAudienceStore;
  readonly bulkMailer: BulkMailer;
  readonly dispatcherTrigger: DispatcherTrigger;
  /** Records of admin writes sent with an Idempotency-Key (used by the HTTP adapter, not by use-cases). */
  readonly idempotency: IdempotencyStore;
  /** The configured OpenID Connect providers of SSO sign-in. */
  readonly identityProviders: IdentityProviders;
  readonly ssoFlows: SsoFlowsStore;
  readonly ssoLinks: SsoLinksStore;
  readonly ssoLoginCodes: SsoLoginCodesStore;
  /** Counters for the operations dashboard (logins, throttles, campaign progress, ...); flushed per invocation. */
  readonly metrics: SecurityMetrics;
  /** Alerts for the people running the service (a user-reported compromise). */
  readonly operatorAlerts: OperatorAlerts;
  readonly oauthClients: OAuthClientsStore;
  readonly authorizationRequests: AuthorizationRequestsStore;
  readonly deviceAuthorizations: DeviceAuthorizationsStore;
}
