import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { allRoutes, type RouteDefinition } from '../functions/routes.js';
import type { DeploymentConfig } from './config.js';
import { Alarms } from './constructs/alarms.js';
import type { AppFunction, WorkloadResources } from './constructs/app-function.js';
import { Dispatcher } from './constructs/dispatcher.js';
import { ApiFunctions } from './constructs/functions.js';
import { AccountShieldHttpApi } from './constructs/http-api.js';
import { Mail } from './constructs/mail.js';
import { Notifications } from './constructs/notifications.js';
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
  /** @default every route of functions/routes.ts */
  readonly routes?: readonly RouteDefinition[];
}

/** argon2id parameters of the deployment: the floor the contract sets (m = 19456 KiB, t = 2, p = 1). */
export const argon2Parameters = { memoryKib: 19456, iterations: 2, parallelism: 1 } as const;

/** How long a function may reuse a revocation state it read (the contract allows up to 1 s). */
export const revocationCacheMs = 500;

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
    // map. ADMIN_TOKEN is never set on AWS: admin routes use IAM.
    const environment: Record<string, string> = {
      ...this.tables.environment,
      PUBLIC_APP_URL: config.publicAppUrl,
      MAIL_FROM: config.mailFrom,
      SES_CONFIGURATION_SET: this.mail.sender.configurationSetName,
      JWT_ISSUER: config.jwtIssuer,
      JWT_AUDIENCE: config.jwtAudience,
      SIGNING_KEY_SOURCE: 'secrets-manager',
      // SIGNING_KEY_SECRET_ARN and VERIFICATION_KEYS_SECRET_ARN are added per function from its access map.
      ARGON2_MEMORY_KIB: String(argon2Parameters.memoryKib),
      ARGON2_ITERATIONS: String(argon2Parameters.iterations),
      ARGON2_PARALLELISM: String(argon2Parameters.parallelism),
      REVOCATION_CACHE_MS: String(revocationCacheMs),
      TOTP_KMS_KEY_ID: this.totpKey.key.keyArn,
      SES_MAX_SEND_RATE: String(config.sesMaxSendRate),
      BREACHED_PASSWORD_CHECK: config.breachedPasswordCheck,
      LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'account-shield',
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

    const allFunctions: AppFunction[] = [
      ...this.apiFunctions.functions.values(),
      this.notifications.notifier,
      this.dispatcher.dispatcher,
      this.userImport.worker,
      this.signingKey.rotationFunction,
      this.securitySignals.fanOut,
      this.securitySignals.delivery,
      this.securitySignals.setKeys.rotationFunction,
    ];
    const rotations = [this.signingKey.rotationFunction, this.securitySignals.setKeys.rotationFunction];
    // No function serves a request before the first signing key exists.
    for (const fn of allFunctions) {
      if (!rotations.includes(fn)) fn.function.node.addDependency(this.signingKey.initialKey);
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
      api: this.httpApi.api,
      alarmEmail: config.alarmEmail,
      removalPolicy: config.removalPolicy,
    });

    new CfnOutput(this, 'SigningKeySecretArn', {
      description: 'Secret holding the JWT signing keys (rotate with aws secretsmanager rotate-secret)',
      value: this.signingKey.secret.secretArn,
    });
    new CfnOutput(this, 'SesConfigurationSetName', {
      description: 'SES configuration set of every security email',
      value: this.mail.sender.configurationSetName,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic of the alarms',
      value: this.alarms.topic.topicArn,
    });
  }
}
