import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ARGON2_DEFAULTS, DEFAULT_REVOCATION_CACHE_MS } from '../shared/config.js';
import { allRoutes, type RouteDefinition } from '../shared/http/routes.js';
import type { DeploymentConfig } from './config.js';
import { Alarms } from './constructs/alarms.js';
import type { AppFunction, WorkloadResources } from './constructs/app-function.js';
import { OperationsDashboard } from './constructs/dashboard.js';
import { Dispatcher } from './constructs/dispatcher.js';
import { ApiFunctions } from './constructs/functions.js';
import { AccountShieldHttpApi } from './constructs/http-api.js';
import { Mail } from './constructs/mail.js';
import { Notifications } from './constructs/notifications.js';
import { SecurityEventBus } from './constructs/security-event-bus.js';
import { SecuritySignals } from './constructs/security-signals.js';
import { SigningKey } from './constructs/signing-key.js';
import { SsoProviders } from './constructs/sso-providers.js';
import { Tables } from './constructs/tables.js';
import { TotpKey } from './constructs/totp-key.js';
import { UserImport } from './constructs/user-import.js';
import { defaultFunctionsDir } from './paths.js';

export interface AccountShieldStackProps extends StackProps {
  readonly config: DeploymentConfig;
  /** Directory of the handler entry files. @default the repository's functions/ */
  readonly functionsDir?: string;
  /** @default every route of shared/http/routes.ts */
  readonly routes?: readonly RouteDefinition[];
}

export class AccountShieldStack extends Stack {
  readonly tables: Tables;
  readonly signingKey: SigningKey;
  readonly totpKey: TotpKey;
  readonly mail: Mail;
  readonly notifications: Notifications;
  readonly dispatcher: Dispatcher;
  readonly userImport: UserImport;
  readonly apiFunctions: ApiFunctions;
  readonly httpApi: AccountShieldHttpApi;
  readonly alarms: Alarms;
  readonly ssoProviders: SsoProviders;
  readonly securityEvents: SecurityEventBus;
  readonly dashboard: OperationsDashboard;
  readonly securitySignals: SecuritySignals;

  constructor(scope: Construct, id: string, props: AccountShieldStackProps) {
    super(scope, id, {
      description:
        'account-shield: account security and breach response (login, revoke-all, resets, TOTP, incidents)',
      ...props,
    });
    const { config } = props;
    const functionsDir = props.functionsDir ?? defaultFunctionsDir;
    const routes = props.routes ?? allRoutes;
    const logs = { logRetention: config.logRetention, logRemovalPolicy: config.removalPolicy };

    this.tables = new Tables(this, 'Tables', {
      removalPolicy: config.removalPolicy,
      deletionProtection: config.deletionProtection,
    });
    this.signingKey = new SigningKey(this, 'SigningKey', {
      functionsDir,
      tables: this.tables.tables,
      rotationDays: config.signingKeyRotationDays,
      removalPolicy: config.removalPolicy,
      logRetention: config.logRetention,
    });
    this.totpKey = new TotpKey(this, 'TotpKey', { removalPolicy: config.removalPolicy });
    this.mail = new Mail(this, 'Mail', {
      domain: config.domain,
      fromAddress: config.mailFrom,
      createIdentity: config.sesIdentity === 'create',
      sandboxRecipients: config.sesSandboxRecipients,
    });

    // What shared/config.ts reads; the queue URL and the dispatcher's name are added per function from its access
    // map. No ADMIN_TOKEN: admin routes use IAM (only the local gateway, scripts/local/api-server.ts, takes a token).
    const environment: Record<string, string> = {
      ...this.tables.environment,
      PUBLIC_APP_URL: config.publicAppUrl,
      MAIL_FROM: config.mailFrom,
      SES_CONFIGURATION_SET: this.mail.sender.configurationSetName,
      JWT_ISSUER: config.jwtIssuer,
      JWT_AUDIENCE: config.jwtAudience,
      SIGNING_KEY_SOURCE: 'secrets-manager',
      // SIGNING_KEY_SECRET_ARN and VERIFICATION_KEYS_SECRET_ARN are added per function from its access map.
      ARGON2_MEMORY_KIB: String(ARGON2_DEFAULTS.memoryKib),
      ARGON2_ITERATIONS: String(ARGON2_DEFAULTS.iterations),
      ARGON2_PARALLELISM: String(ARGON2_DEFAULTS.parallelism),
      REVOCATION_CACHE_MS: String(DEFAULT_REVOCATION_CACHE_MS),
      TOTP_KMS_KEY_ID: this.totpKey.key.keyArn,
      SES_MAX_SEND_RATE: String(config.sesMaxSendRate),
      BREACHED_PASSWORD_CHECK: config.breachedPasswordCheck,
      LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'account-shield',
      // Security metrics as EMF log lines (shared/ports/security-metrics.ts), shown on the dashboard.
      METRICS: 'emf',
    };
    const resources: WorkloadResources = {
      tables: this.tables.tables,
      signingKeySecret: this.signingKey.secret,
      verificationKeysSecret: this.signingKey.publicKeys,
      totpKey: this.totpKey.key,
    };

    this.notifications = new Notifications(this, 'Notifications', {
      functionsDir,
      resources,
      mail: this.mail.sender,
      environment,
      sesMaxSendRate: config.sesMaxSendRate,
      ...logs,
    });
    this.dispatcher = new Dispatcher(this, 'Dispatcher', {
      functionsDir,
      resources: { ...resources, notificationsQueue: this.notifications.queue },
      environment,
      ...logs,
    });
    this.ssoProviders = new SsoProviders(this, 'SsoProviders', {
      providers: config.ssoProviders,
      apiBaseUrl: config.apiBaseUrl,
      removalPolicy: config.removalPolicy,
    });
    this.userImport = new UserImport(this, 'UserImport', {
      functionsDir,
      resources,
      environment,
      removalPolicy: config.removalPolicy,
      ...logs,
    });
    this.securitySignals = new SecuritySignals(this, 'SecuritySignals', {
      functionsDir,
      resources,
      environment,
      signingKeyRotationDays: config.signingKeyRotationDays,
      removalPolicy: config.removalPolicy,
      logRetention: config.logRetention,
      logRemovalPolicy: config.removalPolicy,
    });
    this.apiFunctions = new ApiFunctions(this, 'Functions', {
      functionsDir,
      routes,
      resources: {
        ...resources,
        signalsQueue: this.securitySignals.queue,
        setSigningKeySecret: this.securitySignals.setKeys.secret,
        setVerificationKeysSecret: this.securitySignals.setKeys.publicKeys,
        notificationsQueue: this.notifications.queue,
        dispatcher: this.dispatcher.dispatcher.function,
        sso: this.ssoProviders.resources,
      },
      environment,
      ...logs,
    });

    this.securityEvents = new SecurityEventBus(this, 'SecurityEvents', {
      functionsDir,
      resources,
      environment: { LOG_LEVEL: 'INFO', POWERTOOLS_SERVICE_NAME: 'account-shield' },
      ...logs,
    });

    const allFunctions: AppFunction[] = [
      ...this.apiFunctions.functions.values(),
      this.notifications.notifier,
      this.dispatcher.dispatcher,
      this.userImport.worker,
      this.securityEvents.publisher,
      this.signingKey.rotationFunction,
      this.securitySignals.fanOut,
      this.securitySignals.delivery,
      this.securitySignals.setKeys.rotationFunction,
    ];
    const rotations = [this.signingKey.rotationFunction, this.securitySignals.setKeys.rotationFunction];
    // No function serves a request before the first signing key exists (the publisher serves none).
    for (const fn of allFunctions) {
      if (!rotations.includes(fn) && fn !== this.securityEvents.publisher)
        fn.function.node.addDependency(this.signingKey.initialKey);
    }
    // Nor signs or publishes a SET before the first SET key exists.
    for (const fn of [this.securitySignals.fanOut, this.apiFunctions.functions.get('ssf')]) {
      fn?.function.node.addDependency(this.securitySignals.setKeys.initialKey);
    }

    this.httpApi = new AccountShieldHttpApi(this, 'HttpApi', {
      routes,
      functions: this.apiFunctions,
      corsAllowedOrigins: config.corsAllowedOrigins,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      ...(config.pagesCertificateArn
        ? {
            customDomain: {
              domainName: new URL(config.publicAppUrl).hostname,
              certificateArn: config.pagesCertificateArn,
            },
          }
        : {}),
      ...logs,
    });

    this.alarms = new Alarms(this, 'Alarms', {
      functions: allFunctions,
      deadLetterQueue: this.notifications.deadLetterQueue,
      securityEventsDeadLetterQueue: this.securityEvents.deadLetterQueue,
      securityEventsPublisher: this.securityEvents.publisher,
      signalsDeadLetterQueue: this.securitySignals.deadLetterQueue,
      api: this.httpApi.api,
      alarmEmail: config.alarmEmail,
      removalPolicy: config.removalPolicy,
    });

    this.dashboard = new OperationsDashboard(this, 'Operations', {
      api: this.httpApi.api,
      notificationsQueue: this.notifications.queue,
      notificationsDeadLetterQueue: this.notifications.deadLetterQueue,
      notifier: this.notifications.notifier,
      dispatcher: this.dispatcher.dispatcher,
      securityEventsPublisher: this.securityEvents.publisher,
      securityEventsDeadLetterQueue: this.securityEvents.deadLetterQueue,
    });

    new CfnOutput(this, 'DashboardName', {
      description: 'CloudWatch dashboard: logins, throttles, campaigns, signals, API, queues',
      value: this.dashboard.dashboard.dashboardName,
    });
    new CfnOutput(this, 'SigningKeySecretArn', {
      description: 'Secret holding the JWT signing keys (rotate with aws secretsmanager rotate-secret)',
      value: this.signingKey.secret.secretArn,
    });
    new CfnOutput(this, 'SesConfigurationSetName', {
      description: 'SES configuration set of every security email',
      value: this.mail.sender.configurationSetName,
    });
    new CfnOutput(this, 'SecurityEventBusName', {
      description: 'EventBridge bus of the security events (docs/events.md); subscribe with a rule on it',
      value: this.securityEvents.bus.eventBusName,
    });
    new CfnOutput(this, 'SecurityEventBusArn', {
      description: 'ARN of the security event bus',
      value: this.securityEvents.bus.eventBusArn,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic of the alarms',
      value: this.alarms.topic.topicArn,
    });
  }
}
