import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { addAccountShield } from '../../infra/account-shield-app.js';
import type { AccountShieldStack } from '../../infra/account-shield-stack.js';
import { alarmThresholds } from '../../infra/constructs/alarms.js';
import type { AppFunction } from '../../infra/constructs/app-function.js';
import { pagesBuildCommands, routeGroups } from '../../infra/constructs/functions.js';
import { accessLogFields } from '../../infra/constructs/http-api.js';
import { notifierMaxConcurrency } from '../../infra/constructs/notifications.js';
import { publisherStreamSettings } from '../../infra/constructs/security-event-bus.js';
import { importMaxReceiveCount, importObjectExpiryDays } from '../../infra/constructs/user-import.js';
import { repoRoot } from '../../infra/paths.js';
import { tableActions, type Workload, workloads } from '../../infra/workloads.js';
import {
  type BusEventType,
  busEventJsonSchema,
  busEventTypes,
} from '../../shared/domain/security-bus-events.js';
import {
  loadPageSite,
  PAGE_CONTENT_SECURITY_POLICY,
  PAGE_FILES,
  servePage,
} from '../../shared/http/pages.js';
import { allRoutes, pageRoutes, routeKey } from '../../shared/http/routes.js';
import {
  OPERATOR_ALERT_NAMESPACE,
  USER_REPORTED_COMPROMISE_METRIC,
} from '../../shared/ports/operator-alerts.js';
import { securityMetricNames } from '../../shared/ports/security-metrics.js';
import {
  DUE_INCIDENTS_INDEX,
  type TableDefinition,
  type TableName,
  tableDefinitions,
} from '../../shared/tables.js';
import { testApp } from './support/app.js';

/** What the HTTP API serves: the JSON API and the hosted account pages. */
const routes = allRoutes;

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** One provider whose secret the stack creates, one with an existing secret. */
const EXISTING_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:okta-client-AbCdEf';
const SSO_PROVIDERS = [
  { id: 'google', displayName: 'Google', issuer: 'https://accounts.google.com', clientId: 'google-client' },
  {
    id: 'okta',
    displayName: 'Okta',
    issuer: 'https://example.okta.com',
    clientId: 'okta-client',
    clientSecretArn: EXISTING_SECRET_ARN,
    jitCreate: true,
  },
];

let stack: AccountShieldStack;
let template: Template;
let resources: Record<string, Resource>;

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const json = (value: unknown): string => JSON.stringify(value) ?? '';
const logicalId = (element: { node: { defaultChild?: unknown } }): string =>
  stack.resolve(stack.getLogicalId(element.node.defaultChild as CfnElement)) as string;
/** The template resource of a construct; fails the test if the construct rendered nothing. */
function resourceOf(construct: { node: { defaultChild?: unknown; path: string } }): Resource {
  const resource = resources[logicalId(construct)];
  if (!resource) throw new Error(`${construct.node.path} is not in the template`);
  return resource;
}
const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);

/** Functions that do not use shared/config.ts (no tables, tokens or keys of the API): they read their own variables. */
const standalone: ReadonlySet<Workload> = new Set(['keyRotation', 'securityEventsPublisher']);

/** Every workload's function construct, keyed by workload. */
function appFunctions(): Map<Workload, AppFunction> {
  const map = new Map<Workload, AppFunction>(stack.apiFunctions.functions);
  map.set('notifier', stack.notifications.notifier);
  map.set('dispatcher', stack.dispatcher.dispatcher);
  map.set('importWorker', stack.userImport.worker);
  map.set('securityEventsPublisher', stack.securityEvents.publisher);
  map.set('keyRotation', stack.signingKey.rotationFunction);
  map.set('signalsFanout', stack.securitySignals.fanOut);
  map.set('signalsDelivery', stack.securitySignals.delivery);
  return map;
}

type PolicyDocument = { Statement: Statement[] };

/** The documents of a role's inline policies (`Policies` on the AWS::IAM::Role itself). */
const inlinePoliciesOf = (role: Resource): PolicyDocument[] =>
  ((role.Properties['Policies'] as { PolicyDocument: PolicyDocument }[] | undefined) ?? []).map(
    (policy) => policy.PolicyDocument,
  );

/**
 * `action -> resource` pairs granted to a role by all the policies attached to it: AWS::IAM::Policy resources
 * naming the role and the role's own inline policies (a grant written inline must not escape the check).
 */
function grantedPairs(fn: AppFunction): Set<string> {
  const roleId = logicalId(fn.role);
  const roleRef = json({ Ref: roleId });
  const documents: PolicyDocument[] = [];
  for (const [, policy] of ofType('AWS::IAM::Policy')) {
    const roles = (policy.Properties['Roles'] as unknown[]).map(json);
    if (roles.includes(roleRef)) documents.push(policy.Properties['PolicyDocument'] as PolicyDocument);
  }
  const role = resources[roleId];
  if (!role) throw new Error(`role ${roleId} is not in the template`);
  documents.push(...inlinePoliciesOf(role));
  const pairs = new Set<string>();
  for (const document of documents) {
    for (const statement of document.Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const action of asArray(statement.Action)) {
        for (const resource of asArray(statement.Resource)) pairs.add(`${action} @ ${json(resource)}`);
      }
    }
  }
  return pairs;
}

/**
 * The DynamoDB actions of each access level of infra/workloads.ts, written out here rather than imported: a
 * level that grows (a Scan in `read`, a `dynamodb:*`) must fail these tests, not widen them with it.
 */
const TABLE_ACTIONS: Readonly<Record<keyof typeof tableActions, readonly string[]>> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
  write: [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
  ],
  scan: ['dynamodb:Scan'],
};

/** What an SQS event source grants its function, so that Lambda can poll the queue on its behalf. */
const SQS_EVENT_SOURCE_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

/** The pairs the access map of `workload` calls for, computed independently of the construct code. */
function expectedPairs(workload: Workload, fn: AppFunction): Set<string> {
  const access = workloads[workload].access;
  const pairs = new Set<string>();
  const add = (actions: readonly string[], arns: readonly string[]) => {
    for (const action of actions)
      for (const arn of arns) pairs.add(`${action} @ ${json(stack.resolve(arn))}`);
  };
  add(['logs:CreateLogStream', 'logs:PutLogEvents'], [fn.logGroup.logGroupArn]);
  for (const [table, levels] of Object.entries(access.tables) as [
    TableName,
    (keyof typeof tableActions)[],
  ][]) {
    add(
      levels.flatMap((level) => TABLE_ACTIONS[level]),
      [stack.tables.tables[table].tableArn],
    );
  }
  for (const [table, indexes] of Object.entries(access.queryIndexes ?? {}) as [TableName, string[]][]) {
    const tableArn = stack.tables.tables[table].tableArn;
    add(
      ['dynamodb:Query'],
      indexes.map((index) => `${tableArn}/index/${index}`),
    );
  }
  if (access.sendNotifications) add(['sqs:SendMessage'], [stack.notifications.queue.queueArn]);
  if (access.signingKey === 'sign')
    add(['secretsmanager:GetSecretValue'], [stack.signingKey.secret.secretArn]);
  if (access.verificationKeys === 'read')
    add(['secretsmanager:GetSecretValue'], [stack.signingKey.publicKeys.secretArn]);
  if (access.verificationKeys === 'publish')
    add(['secretsmanager:PutSecretValue'], [stack.signingKey.publicKeys.secretArn]);
  if (access.signingKey === 'rotate') {
    add(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      [stack.signingKey.secret.secretArn],
    );
  }
  for (const operation of access.totpKey ?? []) {
    add([operation === 'encrypt' ? 'kms:Encrypt' : 'kms:Decrypt'], [stack.totpKey.key.keyArn]);
  }
  if (access.sendMail) {
    add(
      ['ses:SendEmail', 'ses:SendBulkEmail'],
      [...stack.mail.sender.identityArns, stack.mail.sender.configurationSetArn],
    );
  }
  if (access.invokeDispatcher)
    add(['lambda:InvokeFunction'], [stack.dispatcher.dispatcher.function.functionArn]);
  if (access.ssoClientSecrets) {
    add(
      ['secretsmanager:GetSecretValue'],
      stack.ssoProviders.resources.clientSecrets.map((secret) => secret.secretArn),
    );
  }
  if (access.readImportObjects) add(['s3:GetObject'], [stack.userImport.bucket.arnForObjects('*')]);
  if (access.requeueImports) add(['sqs:SendMessage'], [stack.userImport.queue.queueArn]);
  if (access.publishSecurityEvents) add(['events:PutEvents'], [stack.securityEvents.bus.eventBusArn]);
  if (access.readRecordsStream) {
    add(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      [stack.tables.tables.records.tableStreamArn ?? 'no stream'],
    );
  }
  if (workload === 'securityEventsPublisher') {
    // Granted by the event source mapping's on-failure destination.
    add(
      ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      [stack.securityEvents.deadLetterQueue.queueArn],
    );
  }
  if (workload === 'importWorker') {
    add(SQS_EVENT_SOURCE_ACTIONS, [stack.userImport.queue.queueArn]);
  }
  const signals = stack.securitySignals;
  if (access.sendSignals) add(['sqs:SendMessage'], [signals.queue.queueArn]);
  if (access.setSigningKey === 'sign')
    add(['secretsmanager:GetSecretValue'], [signals.setKeys.secret.secretArn]);
  if (access.setVerificationKeys === 'read')
    add(['secretsmanager:GetSecretValue'], [signals.setKeys.publicKeys.secretArn]);
  if (workload === 'signalsDelivery') {
    add(SQS_EVENT_SOURCE_ACTIONS, [signals.queue.queueArn]);
  }
  if (workload === 'notifier') {
    // Granted by the SQS event source so Lambda can poll on the notifier's behalf.
    add(SQS_EVENT_SOURCE_ACTIONS, [stack.notifications.queue.queueArn]);
  }
  return pairs;
}

function functionProperties(fn: AppFunction): Record<string, unknown> {
  return resourceOf(fn.function).Properties;
}

const environmentOf = (fn: AppFunction) =>
  (functionProperties(fn)['Environment'] as { Variables: Record<string, unknown> }).Variables;

beforeAll(() => {
  // GIVEN the required context plus an alarm email, WHEN the app is synthesized (once for this file)
  const app = testApp({ context: { alarmEmail: 'ops@example.com', ssoProviders: SSO_PROVIDERS } });
  stack = addAccountShield(app, { env: {} });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
}, 120_000);

afterAll(() => {
  CloudAssembly.cleanupTemporaryDirectories();
});

describe('GIVEN the stack WHEN synthesized THEN the tables', () => {
  test('are one per definition of shared/tables.ts, with its keys', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(Object.keys(tableDefinitions).length);
    for (const [name, definition] of Object.entries(tableDefinitions) as [
      TableName,
      (typeof tableDefinitions)[TableName],
    ][]) {
      const table = resourceOf(stack.tables.tables[name]);
      const keySchema = [
        { AttributeName: definition.partitionKey, KeyType: 'HASH' },
        ...('sortKey' in definition ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' }] : []),
      ];
      expect(table.Properties['KeySchema']).toEqual(keySchema);
    }
  });

  test('carry the KEYS_ONLY global indexes of their definitions, the due-incidents index on the records table', () => {
    for (const [name, definition] of Object.entries(tableDefinitions) as [TableName, TableDefinition][]) {
      const indexes = resourceOf(stack.tables.tables[name]).Properties['GlobalSecondaryIndexes'];
      const expected = Object.entries(definition.globalIndexes ?? {}).map(([indexName, index]) => ({
        IndexName: indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      }));
      expect({ name, indexes: indexes ?? [] }).toEqual({ name, indexes: expected });
    }
    const records = resourceOf(stack.tables.tables.records).Properties;
    expect(records['GlobalSecondaryIndexes']).toEqual([
      expect.objectContaining({
        IndexName: DUE_INCIDENTS_INDEX,
        KeySchema: [
          { AttributeName: 'dueIndexPk', KeyType: 'HASH' },
          { AttributeName: 'dueAt', KeyType: 'RANGE' },
        ],
      }),
    ]);
    expect(records['AttributeDefinitions']).toEqual(
      expect.arrayContaining([
        { AttributeName: 'dueIndexPk', AttributeType: 'S' },
        { AttributeName: 'dueAt', AttributeType: 'N' },
      ]),
    );
  });

  test('are on-demand with point-in-time recovery, deletion protection and a Retain policy', () => {
    for (const [, table] of ofType('AWS::DynamoDB::Table')) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true },
      });
      expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  test('expire items through TTL exactly where a definition names an expiry attribute', () => {
    for (const [name, definition] of Object.entries(tableDefinitions) as [
      TableName,
      (typeof tableDefinitions)[TableName],
    ][]) {
      const ttl = resourceOf(stack.tables.tables[name]).Properties['TimeToLiveSpecification'];
      if ('ttlAttribute' in definition)
        expect(ttl).toEqual({ AttributeName: definition.ttlAttribute, Enabled: true });
      else expect(ttl).toBeUndefined();
    }
  });

  test('reach every function through the environment variable the definition names', () => {
    for (const [workload, fn] of appFunctions()) {
      if (standalone.has(workload)) continue;
      const env = environmentOf(fn);
      for (const [name, definition] of Object.entries(tableDefinitions) as [
        TableName,
        { envVar: string },
      ][]) {
        expect(env[definition.envVar]).toEqual({ Ref: logicalId(stack.tables.tables[name]) });
      }
    }
  });
});

describe('GIVEN the stack WHEN synthesized THEN the security event bus', () => {
  const mapping = () => resourceOf(stack.securityEvents.mapping).Properties;

  test('is fed by the records table stream (new images), the only table with a stream', () => {
    for (const [name, definition] of Object.entries(tableDefinitions) as [
      TableName,
      { streamViewType?: string },
    ][]) {
      expect({
        name,
        stream: resourceOf(stack.tables.tables[name]).Properties['StreamSpecification'],
      }).toEqual({
        name,
        stream: definition.streamViewType ? { StreamViewType: definition.streamViewType } : undefined,
      });
    }
    expect(tableDefinitions.records.streamViewType).toBe('NEW_IMAGE');
    expect(mapping()['EventSourceArn']).toEqual(stack.resolve(stack.tables.tables.records.tableStreamArn));
    expect(mapping()['FunctionName']).toEqual({ Ref: logicalId(stack.securityEvents.publisher.function) });
  });

  test('invokes the publisher only for inserted security event items', () => {
    const patterns = (mapping()['FilterCriteria'] as { Filters: { Pattern: string }[] }).Filters.map(
      (filter) => JSON.parse(filter.Pattern),
    );
    expect(patterns).toEqual([
      { eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: 'events#' }] } } } },
    ]);
  });

  test('retries failed records alone (partial batch responses, bisection) and parks what keeps failing in a queue', () => {
    expect(mapping()).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: publisherStreamSettings.batchSize,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: publisherStreamSettings.retryAttempts,
      MaximumRecordAgeInSeconds: publisherStreamSettings.maxRecordAgeHours * 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: { Destination: stack.resolve(stack.securityEvents.deadLetterQueue.queueArn) },
      },
    });
    // The stream keeps records 24 h: a parked pointer must still be readable when someone looks at it.
    expect(publisherStreamSettings.maxRecordAgeHours).toBeLessThan(24);
    expect(resourceOf(stack.securityEvents.deadLetterQueue).Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  test('tells the publisher its bus, and nothing about tables, tokens or keys', () => {
    const env = environmentOf(stack.securityEvents.publisher);
    expect(env['SECURITY_EVENT_BUS_NAME']).toEqual({ Ref: logicalId(stack.securityEvents.bus) });
    expect(Object.keys(env).sort()).toEqual(
      ['LOG_LEVEL', 'NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'SECURITY_EVENT_BUS_NAME'].sort(),
    );
  });

  test('registers one JSON schema per event type, the one docs/events.md documents', () => {
    const schemas = ofType('AWS::EventSchemas::Schema').map(([, schema]) => schema.Properties);
    expect(schemas.map((schema) => schema['SchemaName']).sort()).toEqual(
      busEventTypes.map((type) => `account-shield@${type}`).sort(),
    );
    for (const schema of schemas) {
      const type = (schema['SchemaName'] as string).replace('account-shield@', '') as BusEventType;
      expect(schema['Type']).toBe('JSONSchemaDraft4');
      expect(JSON.parse(schema['Content'] as string)).toEqual(busEventJsonSchema(type));
      expect(schema['RegistryName']).toEqual({
        'Fn::GetAtt': [
          stack.resolve(stack.getLogicalId(stack.securityEvents.schemaRegistry)),
          'RegistryName',
        ],
      });
    }
  });

  test('names the bus in the outputs, and alarms when events are parked or late', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs['SecurityEventBusName']?.Value).toEqual({ Ref: logicalId(stack.securityEvents.bus) });
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          { Name: 'QueueName', Value: stack.resolve(stack.securityEvents.deadLetterQueue.queueName) },
        ],
        Threshold: 1,
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'IteratorAge',
        Namespace: 'AWS/Lambda',
        Dimensions: [
          { Name: 'FunctionName', Value: { Ref: logicalId(stack.securityEvents.publisher.function) } },
        ],
        Threshold: alarmThresholds.publisherIteratorAgeSeconds * 1000,
      }),
    );
  });
});

describe('GIVEN the stack WHEN synthesized THEN the operations dashboard', () => {
  const body = () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    // The body is a Fn::Join of JSON text and references; its literal parts are enough to find the metrics.
    return json(dashboards[0]![1].Properties['DashboardBody']);
  };

  test('graphs every security metric in the namespace and with the dimension Powertools writes them with', () => {
    for (const name of Object.values(securityMetricNames)) {
      expect({
        name,
        found: body().includes(`[\\"AccountShield\\",\\"${name}\\",\\"service\\",\\"account-shield\\"`),
      }).toEqual({
        name,
        found: true,
      });
    }
  });

  test('graphs the API 4xx, 5xx and latency, the queue depth, both dead-letter queues and notifier errors', () => {
    const text = body();
    for (const metric of ['4xx', '5xx', 'Latency', 'Count']) expect(text).toContain(`\\"${metric}\\"`);
    expect(text).toContain('ApproximateNumberOfMessagesVisible');
    expect(text).toContain('ApproximateAgeOfOldestMessage');
    expect(text).toContain(logicalId(stack.notifications.deadLetterQueue));
    expect(text).toContain(logicalId(stack.securityEvents.deadLetterQueue));
    expect(text).toContain(logicalId(stack.notifications.notifier.function));
    expect(text).toContain('IteratorAge');
    expect(text).toContain('p95');
  });
});

describe('GIVEN the stack WHEN synthesized THEN the HTTP API', () => {
  const routeResources = () => ofType('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties);

  test('has exactly the routes of shared/http/routes.ts, plus $default answering 404 for anything else', () => {
    const keys = routeResources().map((route) => route['RouteKey']);
    expect(keys.sort()).toEqual([...routes.map(routeKey), '$default'].sort());
  });

  test("sends each route to its route group's function with payload format 2.0", () => {
    const integrationTarget = new Map<string, unknown>();
    for (const [id, integration] of ofType('AWS::ApiGatewayV2::Integration')) {
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
      integrationTarget.set(id, integration.Properties['IntegrationUri']);
    }
    for (const route of routes) {
      const properties = routeResources().find((candidate) => candidate['RouteKey'] === routeKey(route));
      const target = json(properties?.['Target']);
      const integrationId = [...integrationTarget.keys()].find((id) => target.includes(`"${id}"`));
      const fn = stack.apiFunctions.functionFor(route.functionName).function;
      expect({ route: routeKey(route), uri: integrationTarget.get(integrationId ?? '') }).toEqual({
        route: routeKey(route),
        uri: stack.resolve(fn.functionArn),
      });
    }
  });

  test('authorises admin routes with IAM and leaves the others to the handlers', () => {
    for (const route of routes) {
      const properties = routeResources().find((candidate) => candidate['RouteKey'] === routeKey(route));
      expect({ route: routeKey(route), auth: properties?.['AuthorizationType'] }).toEqual({
        route: routeKey(route),
        auth: route.auth === 'admin' ? 'AWS_IAM' : 'NONE',
      });
    }
  });

  test('throttles the stage and writes JSON access logs without headers, query strings or bodies', () => {
    const stage = resourceOf(stack.httpApi.stage);
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
        DetailedMetricsEnabled: true,
      },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [logicalId(stack.httpApi.accessLogs), 'Arn'] } },
    });
    const format = JSON.parse((stage.Properties['AccessLogSettings'] as { Format: string }).Format);
    expect(format).toEqual(accessLogFields);
    expect(format.requestId).toBe('$context.requestId');
    for (const variable of Object.values(format) as string[]) {
      expect(variable).not.toMatch(/header|querystring|userAgent|requestBody|authorizer\.(?!error)/i);
    }
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 90,
    });
  });

  test('allows CORS only from the public app origin, without credentials', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['https://app.example.com'],
        AllowCredentials: false,
        AllowHeaders: ['authorization', 'content-type'],
        AllowMethods: Match.arrayWith(['GET', 'POST', 'DELETE']),
      },
    });
  });

  test('offers operators a managed policy that can call the admin routes and nothing else', () => {
    const policy = resourceOf(stack.httpApi.adminInvokePolicy);
    const statements = (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement;
    const invoked = statements.flatMap((statement) => asArray(statement.Resource).map(json));
    const adminRoutes = routes.filter((route) => route.auth === 'admin');
    expect(invoked).toHaveLength(adminRoutes.length);
    for (const route of adminRoutes) {
      expect(
        invoked.some((arn) =>
          arn.includes(`/$default/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}"`),
        ),
      ).toBe(true);
    }
    expect(statements.every((statement) => asArray(statement.Action).join() === 'execute-api:Invoke')).toBe(
      true,
    );
  });
});

describe('GIVEN the stack WHEN synthesized THEN the functions', () => {
  test('are one per route group, plus the notifier, the dispatcher, the import worker, the security event publisher and the key rotation', () => {
    expect([...stack.apiFunctions.functions.keys()].sort()).toEqual(routeGroups(routes).sort());
    // + notifier, dispatcher, import worker, key rotation, security event publisher, and the signals fan-out,
    // deliverer and SET key rotation.
    expect(ofType('AWS::Lambda::Function')).toHaveLength(routeGroups(routes).length + 8);
  });

  test('run Node.js 22 on arm64 with the memory and timeout of their workload, and source maps on', () => {
    for (const [workload, fn] of appFunctions()) {
      const spec = workloads[workload];
      expect({ workload, ...functionProperties(fn) }).toMatchObject({
        workload,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: spec.memorySize,
        Timeout: spec.timeoutSeconds,
        LoggingConfig: { LogGroup: { Ref: logicalId(fn.logGroup) } },
      });
      expect(environmentOf(fn)['NODE_OPTIONS']).toBe('--enable-source-maps');
    }
  });

  test('give the workloads that hash passwords 1024 MB, and ship argon2 to them', () => {
    for (const [workload, fn] of appFunctions()) {
      if (!workloads[workload].hashesPasswords) continue;
      expect({ workload, memory: functionProperties(fn)['MemorySize'] }).toEqual({ workload, memory: 1024 });
      expect({ workload, ships: workloads[workload].shipsArgon2 }).toEqual({ workload, ships: true });
    }
  });

  test('keep their logs for the configured retention', () => {
    for (const fn of appFunctions().values()) {
      expect(resourceOf(fn.logGroup).Properties['RetentionInDays']).toBe(90);
    }
  });

  test('learn where the private key is only when they may sign, and never get an admin token', () => {
    for (const [workload, fn] of appFunctions()) {
      if (standalone.has(workload)) continue;
      const env = environmentOf(fn);
      const access = workloads[workload].access;
      expect({ workload, secret: env['SIGNING_KEY_SECRET_ARN'] }).toEqual({
        workload,
        secret: access.signingKey === 'sign' ? { Ref: logicalId(stack.signingKey.secret) } : undefined,
      });
      expect({ workload, secret: env['VERIFICATION_KEYS_SECRET_ARN'] }).toEqual({
        workload,
        secret: access.verificationKeys ? { Ref: logicalId(stack.signingKey.publicKeys) } : undefined,
      });
      expect(env).toMatchObject({
        SIGNING_KEY_SOURCE: 'secrets-manager',
        PUBLIC_APP_URL: 'https://app.example.com',
        JWT_ISSUER: 'https://app.example.com',
        JWT_AUDIENCE: 'account-shield',
        ARGON2_MEMORY_KIB: '19456',
        ARGON2_ITERATIONS: '2',
        ARGON2_PARALLELISM: '1',
        METRICS: 'emf',
      });
      expect(env).not.toHaveProperty('ADMIN_TOKEN');
    }
  });

  test('get NOTIFICATIONS_QUEUE_URL and DISPATCHER_FUNCTION_NAME exactly when they may use them', () => {
    for (const [workload, fn] of appFunctions()) {
      const env = environmentOf(fn);
      const access = workloads[workload].access;
      expect({ workload, queue: env['NOTIFICATIONS_QUEUE_URL'] }).toEqual({
        workload,
        queue: access.sendNotifications ? stack.resolve(stack.notifications.queue.queueUrl) : undefined,
      });
      expect({ workload, dispatcher: env['DISPATCHER_FUNCTION_NAME'] }).toEqual({
        workload,
        dispatcher: access.invokeDispatcher
          ? { Ref: logicalId(stack.dispatcher.dispatcher.function) }
          : undefined,
      });
    }
  });

  test('all know the TOTP key id, which shared/config.ts requires on AWS', () => {
    for (const [workload, fn] of appFunctions()) {
      if (standalone.has(workload)) continue;
      expect({ workload, kms: environmentOf(fn)['TOTP_KMS_KEY_ID'] }).toEqual({
        workload,
        kms: stack.resolve(stack.totpKey.key.keyArn),
      });
    }
    expect(workloads.mfa.access.totpKey).toEqual(['encrypt', 'decrypt']);
    expect(workloads.login.access.totpKey).toEqual(['decrypt']);
  });

  test('wait for the first signing key before they are created', () => {
    const initialKey = logicalId(stack.signingKey.initialKey);
    for (const [workload, fn] of appFunctions()) {
      if (standalone.has(workload)) continue;
      expect(resourceOf(fn.function).DependsOn).toContain(initialKey);
    }
  });
});

describe('GIVEN the stack WHEN synthesized THEN least privilege', () => {
  test("gives each function's role exactly what its access map lists, and nothing else", () => {
    for (const [workload, fn] of appFunctions()) {
      expect({ workload, granted: [...grantedPairs(fn)].sort() }).toEqual({
        workload,
        granted: [...expectedPairs(workload, fn)].sort(),
      });
    }
  });

  test('grants each DynamoDB access level exactly its literal action list', () => {
    expect(tableActions).toEqual(TABLE_ACTIONS);
  });

  test('uses no AWS managed policies and no "*" resource or action in any IAM policy, inline ones included', () => {
    for (const [, role] of ofType('AWS::IAM::Role'))
      expect(role.Properties['ManagedPolicyArns']).toBeUndefined();
    const documents: [string, PolicyDocument][] = [
      ...[...ofType('AWS::IAM::Policy'), ...ofType('AWS::IAM::ManagedPolicy')].map(
        ([id, policy]): [string, PolicyDocument] => [
          id,
          policy.Properties['PolicyDocument'] as PolicyDocument,
        ],
      ),
      ...ofType('AWS::IAM::Role').flatMap(([id, role]) =>
        inlinePoliciesOf(role).map((document): [string, PolicyDocument] => [id, document]),
      ),
    ];
    for (const [id, document] of documents) {
      for (const statement of document.Statement) {
        for (const action of asArray(statement.Action))
          expect({ id, action }).not.toEqual({ id, action: expect.stringContaining('*') });
        for (const resource of asArray(statement.Resource)) {
          expect({ id, resource }).not.toEqual({ id, resource: '*' });
        }
      }
    }
  });

  test('lets only the functions that mint tokens (login, refresh, password change, SSO exchange, OAuth token endpoint) read the private signing key', () => {
    const privateSecret = json(stack.resolve(stack.signingKey.secret.secretArn));
    const readers = [...appFunctions()]
      .filter(([, fn]) => grantedPairs(fn).has(`secretsmanager:GetSecretValue @ ${privateSecret}`))
      .map(([workload]) => workload)
      .sort();
    expect(readers).toEqual(['keyRotation', 'login', 'oauth', 'password', 'sso']);
  });

  test('gives every function that only verifies the public key set, and nothing that only verifies the private key', () => {
    const publicSecret = json(stack.resolve(stack.signingKey.publicKeys.secretArn));
    const privateSecret = json(stack.resolve(stack.signingKey.secret.secretArn));
    for (const workload of ['accounts', 'sessions', 'mfa', 'jwks', 'password'] as const) {
      const pairs = grantedPairs(appFunctions().get(workload)!);
      expect({ workload, public: pairs.has(`secretsmanager:GetSecretValue @ ${publicSecret}`) }).toEqual({
        workload,
        public: true,
      });
    }
    for (const workload of [
      'accounts',
      'sessions',
      'mfa',
      'jwks',
      'admin',
      'notifier',
      'dispatcher',
    ] as const) {
      const onPrivate = [...grantedPairs(appFunctions().get(workload)!)].filter((pair) =>
        pair.endsWith(`@ ${privateSecret}`),
      );
      expect({ workload, onPrivate }).toEqual({ workload, onPrivate: [] });
    }
    // Bearer routes live in exactly the functions that may read the public keys.
    const bearerGroups = new Set(
      routes.filter((route) => route.auth === 'bearer').map((r) => r.functionName),
    );
    for (const group of bearerGroups)
      expect({ group, keys: workloads[group].access.verificationKeys }).toEqual({ group, keys: 'read' });
  });

  test('lets every function with an Idempotency-Key route keep its idempotency records in the records table', () => {
    // shared/stores/idempotency-store.ts: Powertools gets, puts (conditional), updates and deletes the records.
    const records = json(stack.resolve(stack.tables.tables.records.tableArn));
    const needed = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
    const groups = [
      ...new Set(routes.filter((route) => route.idempotent).map((route) => route.functionName)),
    ];
    expect(groups).toEqual(['admin']);
    for (const group of groups) {
      const fn = stack.apiFunctions.functions.get(group);
      if (!fn) throw new Error(`no function for ${group}`);
      const granted = grantedPairs(fn);
      expect({ group, missing: needed.filter((action) => !granted.has(`${action} @ ${records}`)) }).toEqual({
        group,
        missing: [],
      });
    }
  });

  test('lets only the dispatcher query the due-incidents index', () => {
    const recordsArn = stack.tables.tables.records.tableArn;
    const indexArn = json(stack.resolve(`${recordsArn}/index/${DUE_INCIDENTS_INDEX}`));
    for (const [workload, fn] of appFunctions()) {
      const onIndexes = [...grantedPairs(fn)].filter((pair) => pair.includes('/index/'));
      expect({ workload, onIndexes }).toEqual({
        workload,
        onIndexes: workload === 'dispatcher' ? [`dynamodb:Query @ ${indexArn}`] : [],
      });
    }
  });

  test('lets only the dispatcher scan, and only the users table', () => {
    for (const [workload, fn] of appFunctions()) {
      const scans = [...grantedPairs(fn)].filter((pair) => pair.startsWith('dynamodb:Scan'));
      expect({ workload, scans }).toEqual({
        workload,
        scans:
          workload === 'dispatcher'
            ? [`dynamodb:Scan @ ${json(stack.resolve(stack.tables.tables.users.tableArn))}`]
            : [],
      });
    }
  });

  test('pins the notifier to the configured sender through the configuration set', () => {
    const notifierRole = logicalId(stack.notifications.notifier.role);
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, policy]) => json(policy.Properties['Roles']).includes(`"${notifierRole}"`))
      .flatMap(([, policy]) => (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['ses:SendBulkEmail', 'ses:SendEmail'],
        Condition: { StringEquals: { 'ses:FromAddress': 'security@example.com' } },
      }),
    );
  });
});

describe('GIVEN the stack WHEN synthesized THEN the user import', () => {
  const bucket = () => resourceOf(stack.userImport.bucket).Properties;
  const queue = () => resourceOf(stack.userImport.queue).Properties;

  test('bucket is private, encrypted, TLS-only, and forgets files (they hold password hashes) within a week', () => {
    expect(bucket()).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: importObjectExpiryDays, Status: 'Enabled' }] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(stack.userImport.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('sends .jsonl and .csv uploads to the import queue, which S3 may write to only for this account', () => {
    const queueArn = { 'Fn::GetAtt': [logicalId(stack.userImport.queue), 'Arn'] };
    expect(bucket()['NotificationConfiguration']).toEqual({
      QueueConfigurations: ['.jsonl', '.csv'].map((suffix) => ({
        Event: 's3:ObjectCreated:*',
        Queue: queueArn,
        Filter: { S3Key: { Rules: [{ Name: 'suffix', Value: suffix }] } },
      })),
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: Match.arrayWith([{ Ref: logicalId(stack.userImport.queue) }]),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
    // S3 checks its permission on the queue when the bucket is created.
    expect(resourceOf(stack.userImport.bucket).DependsOn ?? []).toEqual(
      expect.arrayContaining([expect.stringMatching(/^UserImportQueuePolicy/)]),
    );
  });

  test('worker takes one job per invocation, and the queue outlasts 6 x its 15-minute timeout', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.userImport.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack.userImport.worker.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 1,
    });
    expect(queue()['VisibilityTimeout']).toBeGreaterThanOrEqual(6 * 900);
    expect(queue()['RedrivePolicy']).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.userImport.deadLetterQueue), 'Arn'] },
      maxReceiveCount: importMaxReceiveCount,
    });
    expect(environmentOf(stack.userImport.worker)['IMPORT_QUEUE_URL']).toEqual({
      Ref: logicalId(stack.userImport.queue),
    });
  });
});

describe('GIVEN the stack WHEN synthesized THEN the notifications', () => {
  const queueProperties = () => resourceOf(stack.notifications.queue).Properties;
  const dlqProperties = () => resourceOf(stack.notifications.deadLetterQueue).Properties;

  test('queue hides a received message for at least 6 x the notifier timeout', () => {
    const notifierTimeout = functionProperties(stack.notifications.notifier)['Timeout'] as number;
    expect(queueProperties()['VisibilityTimeout']).toBeGreaterThanOrEqual(6 * notifierTimeout);
  });

  test('queue moves a message to the DLQ after exactly 5 receives, and the DLQ keeps it longer', () => {
    // Literal 5: the local queues (scripts/local/provision.ts) and test/integration/notifier-dlq.test.ts assume it.
    expect(queueProperties()['RedrivePolicy']).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.notifications.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(dlqProperties()['MessageRetentionPeriod']).toBeGreaterThan(
      queueProperties()['MessageRetentionPeriod'] as number,
    );
  });

  test('queues are encrypted at rest and refuse requests without TLS', () => {
    expect(queueProperties()['SqsManagedSseEnabled']).toBe(true);
    expect(dlqProperties()['SqsManagedSseEnabled']).toBe(true);
    for (const queue of [stack.notifications.queue, stack.notifications.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: Match.arrayWith([{ Ref: logicalId(queue) }]),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  test('notifier consumes the queue with partial batch responses and a concurrency cap from the SES rate', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.notifications.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack.notifications.notifier.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: notifierMaxConcurrency(14) },
      BatchSize: 10,
    });
    expect(environmentOf(stack.notifications.notifier)).toMatchObject({
      MAIL_FROM: 'security@example.com',
      SES_CONFIGURATION_SET: { Ref: logicalId(stack.mail.configurationSet) },
      SES_MAX_SEND_RATE: '14',
    });
  });
});

describe('GIVEN the stack WHEN synthesized THEN the dispatcher', () => {
  test('runs every minute without retries (the next tick resumes)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.dispatcher.dispatcher.function), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(stack.dispatcher.dispatcher.function), 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [logicalId(stack.dispatcher.schedule), 'Arn'] },
    });
  });
});

describe('GIVEN the stack WHEN synthesized THEN mail', () => {
  test('goes through a configuration set that suppresses bounces and complaints and requires TLS', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: true },
      DeliveryOptions: { TlsPolicy: 'REQUIRE' },
    });
  });

  test('publishes bounce and complaint events to CloudWatch', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: logicalId(stack.mail.configurationSet) },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(['send', 'delivery', 'bounce', 'complaint']),
        CloudWatchDestination: {
          DimensionConfigurations: [Match.objectLike({ DimensionValueSource: 'messageTag' })],
        },
      },
    });
  });

  test('is sent from a domain identity whose DKIM records are stack outputs', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'example.com',
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: logicalId(stack.mail.configurationSet) } },
    });
    const outputs = Object.keys(template.toJSON().Outputs as Record<string, unknown>);
    expect(outputs.filter((name) => name.includes('DkimRecord'))).toHaveLength(3);
  });
});

describe('GIVEN the stack WHEN synthesized THEN the signing key', () => {
  test('has a public key set the rotation publishes to and may not read back', () => {
    const rotation = grantedPairs(stack.signingKey.rotationFunction);
    const publicSecret = json(stack.resolve(stack.signingKey.publicKeys.secretArn));
    expect(rotation.has(`secretsmanager:PutSecretValue @ ${publicSecret}`)).toBe(true);
    expect(environmentOf(stack.signingKey.rotationFunction)['VERIFICATION_KEYS_SECRET_ARN']).toEqual({
      Ref: logicalId(stack.signingKey.publicKeys),
    });
  });

  test('is a secret whose first key a custom resource backed by the key-rotation function creates', () => {
    template.hasResourceProperties('Custom::SigningKey', {
      ServiceToken: { 'Fn::GetAtt': [logicalId(stack.signingKey.rotationFunction.function), 'Arn'] },
      SecretArn: { Ref: logicalId(stack.signingKey.secret) },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"keys":[]}' }),
    });
  });

  test('rotates every 30 days through the same function, after the first key exists', () => {
    const [[, schedule] = []] = ofType('AWS::SecretsManager::RotationSchedule');
    expect(schedule?.Properties).toEqual({
      SecretId: { Ref: logicalId(stack.signingKey.secret) },
      RotationLambdaARN: { 'Fn::GetAtt': [logicalId(stack.signingKey.rotationFunction.function), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
    expect(schedule?.DependsOn).toContain(logicalId(stack.signingKey.initialKey));
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'secretsmanager.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(stack.signingKey.rotationFunction.function), 'Arn'] },
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });
});

describe('GIVEN the stack WHEN synthesized THEN the TOTP key', () => {
  test('is a KMS key with automatic rotation that only the TOTP workloads may use', () => {
    expect(resourceOf(stack.totpKey.key).Properties['EnableKeyRotation']).toBe(true);
    const keyArn = json(stack.resolve(stack.totpKey.key.keyArn));
    for (const [workload, fn] of appFunctions()) {
      const kms = [...grantedPairs(fn)]
        .filter((pair) => pair.endsWith(keyArn))
        .map((pair) => pair.split(' @ ')[0]);
      const expected = (workloads[workload].access.totpKey ?? []).map((op) =>
        op === 'encrypt' ? 'kms:Encrypt' : 'kms:Decrypt',
      );
      expect({ workload, kms: kms.sort() }).toEqual({ workload, kms: expected.sort() });
    }
  });

  test('may only be used for ciphertexts bound to the TOTP encryption context', () => {
    const keyArn = stack.resolve(stack.totpKey.key.keyArn);
    const kmsStatements = [...ofType('AWS::IAM::Policy')]
      .flatMap(([, policy]) => (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement)
      .filter((statement) => asArray(statement.Resource).some((resource) => json(resource) === json(keyArn)));
    expect(kmsStatements.length).toBeGreaterThan(0);
    for (const statement of kmsStatements) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:EncryptionContext:purpose': 'account-shield-totp' },
      });
    }
  });
});

describe('GIVEN the stack WHEN synthesized THEN the hosted account pages', () => {
  test('are served on the API by the pages function, public, GET only', () => {
    const pages = stack.apiFunctions.functionFor('pages').function;
    const routeProperties = ofType('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties);
    for (const route of pageRoutes) {
      const properties = routeProperties.find((candidate) => candidate['RouteKey'] === routeKey(route));
      expect({ route: routeKey(route), auth: properties?.['AuthorizationType'] }).toEqual({
        route: `GET ${route.path}`,
        auth: 'NONE',
      });
    }
    expect(functionProperties(stack.apiFunctions.functionFor('pages'))).toMatchObject({ MemorySize: 256 });
    expect(pages).toBeDefined();
  });

  test('come from a function that may touch no table, queue, key or secret', () => {
    const pairs = [...grantedPairs(stack.apiFunctions.functionFor('pages'))];
    expect(pairs.filter((pair) => !pair.startsWith('logs:'))).toEqual([]);
  });

  test('answer at the host of publicAppUrl when a certificate is configured for it', () => {
    // GIVEN a certificate for app.example.com WHEN synthesized THEN the API has that custom domain on its stage
    const withDomain = Template.fromStack(
      addAccountShield(
        testApp({
          context: {
            pagesCertificateArn:
              'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
          },
        }),
        { env: {} },
      ),
    );
    withDomain.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'app.example.com',
      DomainNameConfigurations: [Match.objectLike({ SecurityPolicy: 'TLS_1_2' })],
    });
    withDomain.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
    // Without the setting there is none.
    template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
  });

  test("are built by the pages function's bundling hook into a directory the handler serves", () => {
    const outputDir = mkdtempSync(join(tmpdir(), 'account-shield-pages-bundle-'));
    try {
      const [command] = pagesBuildCommands(repoRoot, outputDir);
      const result = spawnSync('sh', ['-c', command ?? 'false'], { encoding: 'utf8', timeout: 60_000 });
      expect(result.status).toBe(0);
      const site = loadPageSite(join(outputDir, 'pages'));
      for (const path of Object.keys(PAGE_FILES)) {
        const response = servePage(site, path);
        expect({ path, status: response.statusCode }).toEqual({ path, status: 200 });
        expect(response.headers?.['content-security-policy']).toBe(PAGE_CONTENT_SECURITY_POLICY);
      }
    } finally {
      rmSync(outputDir, { recursive: true, force: true });
    }
  });
});

describe('GIVEN the stack WHEN synthesized THEN the alarms', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
  const topicRef = () => ({ Ref: logicalId(stack.alarms.topic) });

  test.each([
    ['the notifications dead-letter queue holds a message', () => stack.notifications.deadLetterQueue],
    [
      'the Shared Signals dead-letter queue holds an undelivered SET',
      () => stack.securitySignals.deadLetterQueue,
    ],
  ])('fire when %s', (_, queue) => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue()), 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
  });

  test('watch errors and throttles of every function', () => {
    for (const fn of appFunctions().values()) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarms()).toContainEqual(
          expect.objectContaining({
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn.function) } }],
          }),
        );
      }
    }
  });

  test('watch the API 5xx rate and the SES bounce and complaint rates', () => {
    const api5xx = alarms().find((alarm) => json(alarm['Metrics']).includes('errors / requests'));
    expect(json(api5xx?.['Metrics'])).toContain('"MetricName":"5xx"');
    expect(json(api5xx?.['Metrics'])).toContain('"MetricName":"Count"');
    for (const metric of ['Reputation.BounceRate', 'Reputation.ComplaintRate']) {
      expect(alarms()).toContainEqual(expect.objectContaining({ Namespace: 'AWS/SES', MetricName: metric }));
    }
  });

  test('fire on the first user-reported compromise ("Secure my account"), from its embedded metric', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: OPERATOR_ALERT_NAMESPACE,
        MetricName: USER_REPORTED_COMPROMISE_METRIC,
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
  });

  test('notify an encrypted SNS topic, with the configured email subscribed', () => {
    for (const alarm of alarms()) {
      expect(alarm['AlarmActions']).toEqual([topicRef()]);
      expect(alarm['OKActions']).toEqual([topicRef()]);
    }
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: topicRef(),
    });
  });
});

describe('GIVEN SSO providers in the context WHEN synthesized THEN the sso function', () => {
  test('gets the providers (secret ARNs, never secret values) and the callback origin; no other function does', () => {
    const sso = stack.apiFunctions.functionFor('sso');
    const env = environmentOf(sso);
    // A CloudFormation join: the created secret's ARN is a reference, the existing one a literal.
    const rendered = json(stack.resolve(env['SSO_PROVIDERS']));
    expect(rendered).toContain(EXISTING_SECRET_ARN);
    expect(rendered).toContain('google-client');
    expect(rendered).toContain('https://accounts.google.com');
    expect(rendered).toContain(logicalId(stack.ssoProviders.node.findChild('googleClientSecret') as never));
    expect(rendered).not.toMatch(/clientSecret\\?":/);
    expect(env['API_BASE_URL']).toBe('https://app.example.com');
    for (const [workload, fn] of appFunctions()) {
      if (workload === 'sso') continue;
      expect({ workload, sso: environmentOf(fn)['SSO_PROVIDERS'] }).toEqual({ workload, sso: undefined });
    }
  });

  test('creates a secret for a provider without clientSecretArn and outputs the redirect URIs', () => {
    // The signing key and its public key set, the SET keys and theirs, and Google's client secret.
    template.resourceCountIs('AWS::SecretsManager::Secret', 5);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const values = Object.values(outputs).map((output) => json(output.Value));
    expect(values).toContain(json('https://app.example.com/v1/auth/sso/google/callback'));
    expect(values).toContain(json('https://app.example.com/v1/auth/sso/okta/callback'));
  });

  test("lets only the sso function read the providers' client secrets", () => {
    const secretArns = stack.ssoProviders.resources.clientSecrets.map((s) =>
      json(stack.resolve(s.secretArn)),
    );
    expect(secretArns).toHaveLength(2);
    for (const [workload, fn] of appFunctions()) {
      const reads = [...grantedPairs(fn)].filter((pair) =>
        secretArns.some((arn) => pair.endsWith(`@ ${arn}`)),
      );
      expect({ workload, reads: reads.length }).toEqual({ workload, reads: workload === 'sso' ? 2 : 0 });
    }
  });
});
