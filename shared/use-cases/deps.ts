import type { Config } from '../config.js';
import type { AccessTokens } from '../crypto/access-tokens.js';
import type { KeyStore } from '../crypto/key-store.js';
import type { PasswordHasher } from '../crypto/password-hasher.js';
import type { BreachedPasswordChecker } from '../ports/breached-password-checker.js';
import type { BulkMailer } from '../ports/bulk-mailer.js';
import type { Clock } from '../ports/clock.js';
import type { DispatcherTrigger } from '../ports/dispatcher-trigger.js';
import type { Mailer } from '../ports/mailer.js';
import type { NotificationQueue } from '../ports/notification-queue.js';
import type { SecretBox } from '../ports/secret-box.js';
import type { CampaignAudience } from '../stores/campaign-audience.js';
import type { DeliveriesStore } from '../stores/deliveries-store.js';
import type { IncidentAudienceStore } from '../stores/incident-audience-store.js';
import type { IncidentDeliveriesStore } from '../stores/incident-deliveries-store.js';
import type { IncidentsStore } from '../stores/incidents-store.js';
import type { ResetTokensStore } from '../stores/reset-tokens-store.js';
import type { RevocationStateReader } from '../stores/revocation-state.js';
import type { SecurityEventsStore } from '../stores/security-events-store.js';
import type { SendRateLimiter } from '../stores/send-rate-limiter.js';
import type { SessionsStore } from '../stores/sessions-store.js';
import type { TenantPolicyStore } from '../stores/tenant-policy-store.js';
import type { ThrottleStore } from '../stores/throttle-store.js';
import type { UsersStore } from '../stores/users-store.js';

/** Everything use-cases may depend on; each use-case takes only the part it needs (Pick<>). */
export interface Deps {
  readonly config: Config;
  readonly clock: Clock;
  readonly users: UsersStore;
  readonly sessions: SessionsStore;
  readonly tenantPolicy: TenantPolicyStore;
  readonly revocation: RevocationStateReader;
  readonly events: SecurityEventsStore;
  readonly throttles: ThrottleStore;
  readonly hasher: PasswordHasher;
  readonly accessTokens: AccessTokens;
  readonly keyStore: KeyStore;
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
}
