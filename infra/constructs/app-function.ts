import { join } from 'node:path';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, type IFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TableName } from '../../shared/tables.js';
import { repoRoot } from '../paths.js';
import {
  tableActions,
  totpEncryptionContextCondition,
  type Workload,
  type WorkloadAccess,
  workloads,
} from '../workloads.js';
import type { SsoResources } from './sso-providers.js';

/** What the SES-sending workloads are allowed to send from, and through which configuration set. */
export interface MailSender {
  readonly fromAddress: string;
  /** ARNs of the SES identities the sender may use (the domain, plus sandbox recipients while in the sandbox). */
  readonly identityArns: readonly string[];
  readonly configurationSetName: string;
  readonly configurationSetArn: string;
}

/** The resources a workload's access map can refer to; only the ones it uses need to be present. */
export interface WorkloadResources {
  readonly tables: Readonly<Record<TableName, ITable>>;
  readonly notificationsQueue?: IQueue;
  readonly signingKeySecret?: ISecret;
  /** The public key set the key rotation publishes (public JWKs only). */
  readonly verificationKeysSecret?: ISecret;
  readonly totpKey?: IKey;
  readonly mail?: MailSender;
  readonly dispatcher?: IFunction;
  /** The SSO providers' settings and client secrets (the sso function only). */
  readonly sso?: SsoResources;
  readonly importBucket?: IBucket;
  readonly importQueue?: IQueue;
  /** The EventBridge bus that security events are published on for internal consumers. */
  readonly securityEventBus?: IEventBus;
  /** Security events out: the push deliveries' queue and the SET key sets (RS256). */
  readonly signalsQueue?: IQueue;
  readonly setSigningKeySecret?: ISecret;
  readonly setVerificationKeysSecret?: ISecret;
}

export interface AppFunctionProps {
  readonly workload: Workload;
  /** Absolute path of the handler's entry file. */
  readonly entry: string;
  readonly resources: WorkloadResources;
  /** Environment shared by every function (tables, JWT settings, ...). Access-derived variables are added here. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  /** Removal policy of the function's log group. */
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * Shell commands run after esbuild, with the bundle's output directory (the hosted pages build their HTML and
   * scripts into it). @default none
   */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
}

/** Lambda runtime and architecture of every function in the stack. */
export const lambdaRuntime = Runtime.NODEJS_22_X;
export const lambdaArchitecture = Architecture.ARM_64;

/** esbuild settings of every function: an ESM bundle for Node 22 with source maps (no sources inlined). */
export const esmBundling = {
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  // The ESM bundle still contains CommonJS dependencies that call require() for Node built-ins.
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  minify: true,
  // Error classes are told apart by name.
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
  tsconfig: join(repoRoot, 'tsconfig.json'),
} satisfies BundlingOptions;

/** npm picks @node-rs/argon2's optional binary package by these, whatever machine runs the synth. */
export const argon2InstallEnvironment = {
  npm_config_os: 'linux',
  npm_config_cpu: 'arm64',
  npm_config_libc: 'glibc',
};

/** What a DynamoDB stream event source mapping reads with the function's role. */
export const recordsStreamActions = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
] as const;

function requireResource<T>(resource: T | undefined, workload: Workload, what: string): T {
  if (resource === undefined)
    throw new Error(`Workload "${workload}" needs ${what}, which was not passed to it`);
  return resource;
}

/** The IAM statements a workload's access map grants; one statement per table and per service. */
export function workloadStatements(
  workload: Workload,
  access: WorkloadAccess,
  resources: WorkloadResources,
): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const [name, levels] of Object.entries(access.tables) as [TableName, readonly string[]][]) {
    const actions = [
      ...new Set(levels.flatMap((level) => tableActions[level as keyof typeof tableActions])),
    ].sort();
    statements.push(new PolicyStatement({ actions, resources: [resources.tables[name].tableArn] }));
  }
  for (const [name, indexes] of Object.entries(access.queryIndexes ?? {}) as [
    TableName,
    readonly string[],
  ][]) {
    const tableArn = resources.tables[name].tableArn;
    statements.push(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: indexes.map((index) => `${tableArn}/index/${index}`),
      }),
    );
  }
  if (access.sendNotifications) {
    const queue = requireResource(resources.notificationsQueue, workload, 'the notifications queue');
    statements.push(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  }
  if (access.signingKey) {
    const secret = requireResource(resources.signingKeySecret, workload, 'the signing key secret');
    const actions =
      access.signingKey === 'sign'
        ? ['secretsmanager:GetSecretValue']
        : [
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ];
    statements.push(new PolicyStatement({ actions, resources: [secret.secretArn] }));
  }
  if (access.verificationKeys) {
    const secret = requireResource(resources.verificationKeysSecret, workload, 'the public key set secret');
    const actions =
      access.verificationKeys === 'read'
        ? ['secretsmanager:GetSecretValue']
        : ['secretsmanager:PutSecretValue'];
    statements.push(new PolicyStatement({ actions, resources: [secret.secretArn] }));
  }
  if (access.totpKey && access.totpKey.length > 0) {
    const key = requireResource(resources.totpKey, workload, 'the TOTP key');
    const actions = access.totpKey.map((operation) =>
      operation === 'encrypt' ? 'kms:Encrypt' : 'kms:Decrypt',
    );
    statements.push(
      new PolicyStatement({
        actions,
        resources: [key.keyArn],
        // Only ciphertexts bound to the TOTP purpose: the key cannot be used as a general decryption oracle.
        conditions: { StringEquals: totpEncryptionContextCondition },
      }),
    );
  }
  if (access.sendMail) {
    const mail = requireResource(resources.mail, workload, 'the mail sender');
    statements.push(
      new PolicyStatement({
        // SendBulkEmail sends incident campaigns with an inline template, so no template resource is needed.
        actions: ['ses:SendEmail', 'ses:SendBulkEmail'],
        resources: [...mail.identityArns, mail.configurationSetArn],
        // The identity ARN alone would allow any address at the domain; pin the sender.
        conditions: { StringEquals: { 'ses:FromAddress': mail.fromAddress } },
      }),
    );
  }
  if (access.invokeDispatcher) {
    const dispatcher = requireResource(resources.dispatcher, workload, 'the dispatcher function');
    statements.push(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [dispatcher.functionArn] }),
    );
  }
  if (access.ssoClientSecrets) {
    const sso = requireResource(resources.sso, workload, 'the SSO providers');
    // No provider configured, nothing to read: no statement rather than one with an empty resource list.
    if (sso.clientSecrets.length > 0) {
      statements.push(
        new PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: sso.clientSecrets.map((secret) => secret.secretArn),
        }),
      );
    }
  }
  if (access.readImportObjects) {
    const bucket = requireResource(resources.importBucket, workload, 'the import bucket');
    statements.push(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }),
    );
  }
  if (access.requeueImports) {
    const queue = requireResource(resources.importQueue, workload, 'the import queue');
    statements.push(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  }
  if (access.readRecordsStream) {
    const streamArn = requireResource(
      resources.tables.records.tableStreamArn,
      workload,
      "the records table's stream",
    );
    statements.push(
      new PolicyStatement({
        actions: [...recordsStreamActions],
        resources: [streamArn],
      }),
    );
  }
  if (access.publishSecurityEvents) {
    const bus = requireResource(resources.securityEventBus, workload, 'the security event bus');
    statements.push(new PolicyStatement({ actions: ['events:PutEvents'], resources: [bus.eventBusArn] }));
  }
  if (access.sendSignals) {
    const queue = requireResource(resources.signalsQueue, workload, 'the signals queue');
    statements.push(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
  }
  if (access.setSigningKey) {
    const secret = requireResource(resources.setSigningKeySecret, workload, 'the SET signing key secret');
    statements.push(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
  }
  if (access.setVerificationKeys) {
    const secret = requireResource(resources.setVerificationKeysSecret, workload, 'the SET public key set');
    statements.push(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
  }
  return statements;
}

/**
 * Environment variables that follow from what a workload may access (so a grant and its variable never drift).
 * TOTP_KMS_KEY_ID is not among them: shared/config.ts requires it of every function on AWS, so the stack sets
 * it for all; the grants above are what limit the key's use.
 */
function accessEnvironment(access: WorkloadAccess, resources: WorkloadResources): Record<string, string> {
  const env: Record<string, string> = {};
  if (access.sendNotifications && resources.notificationsQueue) {
    env['NOTIFICATIONS_QUEUE_URL'] = resources.notificationsQueue.queueUrl;
  }
  if (access.invokeDispatcher && resources.dispatcher) {
    env['DISPATCHER_FUNCTION_NAME'] = resources.dispatcher.functionName;
  }
  // Only functions that may read the private keys are told where they are.
  if (access.signingKey === 'sign' && resources.signingKeySecret) {
    env['SIGNING_KEY_SECRET_ARN'] = resources.signingKeySecret.secretArn;
  }
  if (access.verificationKeys && resources.verificationKeysSecret) {
    env['VERIFICATION_KEYS_SECRET_ARN'] = resources.verificationKeysSecret.secretArn;
  }
  if (access.ssoClientSecrets && resources.sso) {
    env['SSO_PROVIDERS'] = resources.sso.providersJson;
    env['API_BASE_URL'] = resources.sso.apiBaseUrl;
  }
  if (access.requeueImports && resources.importQueue)
    env['IMPORT_QUEUE_URL'] = resources.importQueue.queueUrl;
  if (access.publishSecurityEvents && resources.securityEventBus)
    env['SECURITY_EVENT_BUS_NAME'] = resources.securityEventBus.eventBusName;
  if (access.sendSignals && resources.signalsQueue)
    env['SIGNALS_QUEUE_URL'] = resources.signalsQueue.queueUrl;
  if (access.setSigningKey && resources.setSigningKeySecret)
    env['SET_SIGNING_KEY_SECRET_ARN'] = resources.setSigningKeySecret.secretArn;
  if (access.setVerificationKeys && resources.setVerificationKeysSecret)
    env['SET_VERIFICATION_KEYS_SECRET_ARN'] = resources.setVerificationKeysSecret.secretArn;
  return env;
}

/**
 * One Lambda function of the stack: Node.js 22 on arm64, an ESM bundle with source maps, its own log group with
 * a retention, and its own role holding only what `workloads[workload].access` lists (no managed policies).
 */
export class AppFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: IRole;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    const spec = workloads[props.workload];

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `account-shield ${props.workload}: ${spec.description}`,
    });
    this.role = role;
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): write to this function's group only.
    this.logGroup.grantWrite(role);
    for (const statement of workloadStatements(props.workload, spec.access, props.resources)) {
      role.addToPrincipalPolicy(statement);
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: `account-shield ${props.workload}: ${spec.description}`,
      runtime: lambdaRuntime,
      architecture: lambdaArchitecture,
      memorySize: spec.memorySize,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role,
      logGroup: this.logGroup,
      environment: {
        ...props.environment,
        ...accessEnvironment(spec.access, props.resources),
        // Stack traces point at the TypeScript sources.
        NODE_OPTIONS: '--enable-source-maps',
      },
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      bundling: {
        ...esmBundling,
        ...(spec.shipsArgon2
          ? { nodeModules: ['@node-rs/argon2'], environment: argon2InstallEnvironment }
          : {}),
        ...(props.afterBundling
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: props.afterBundling,
              },
            }
          : {}),
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x, the runtime the project verifies (tests, cfn-lint, the arm64 argon2 binary); ' +
        'moving to a newer runtime is a deliberate, tested upgrade.',
    });
  }
}
