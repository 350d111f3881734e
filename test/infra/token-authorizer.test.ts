import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { TokenAuthorizer, type TokenAuthorizerProps } from '../../infra/constructs/token-authorizer.js';
import { tokenAuthorizerActions, tokenAuthorizerReads } from '../../infra/workloads.js';
import { testApp } from './support/app.js';

/** A resource server's stack: account-shield's tables (imported) and its own API with one protected route. */
function resourceServer(options: Partial<TokenAuthorizerProps> = {}) {
  const stack = new Stack(testApp(), 'ResourceServer');
  const table = (name: string) =>
    Table.fromTableAttributes(stack, name, {
      tableArn: `arn:aws:dynamodb:eu-west-1:123456789012:table/account-shield-${name}`,
    });
  const authorizer = new TokenAuthorizer(stack, 'Tokens', {
    tables: { users: table('users'), sessions: table('sessions'), records: table('records') },
    jwksUrl: 'https://api.example.com/.well-known/jwks.json',
    issuer: 'https://app.example.com',
    audience: 'account-shield',
    ...options,
  });
  const api = new HttpApi(stack, 'OrdersApi');
  api.addRoutes({
    path: '/orders',
    methods: [HttpMethod.GET],
    integration: new HttpUrlIntegration('Orders', 'https://orders.internal.example.com'),
    authorizer: authorizer.authorizer,
  });
  return { stack, authorizer, template: Template.fromStack(stack) };
}

afterAll(() => {
  CloudAssembly.cleanupTemporaryDirectories();
});

describe('GIVEN a resource server that attaches the token authorizer with defaults', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = resourceServer());
  });

  test('THEN API Gateway caches a decision for 1 second at most, keyed on the Authorization header', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      AuthorizerResultTtlInSeconds: 1,
      IdentitySource: ['$request.header.Authorization'],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'CUSTOM' });
  });

  test('THEN the function does not cache revocation state itself, so a revocation shows within 1 second', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          REVOCATION_CACHE_MS: '0',
          JWKS_URL: 'https://api.example.com/.well-known/jwks.json',
          JWT_ISSUER: 'https://app.example.com',
          JWT_AUDIENCE: 'account-shield',
          USERS_TABLE: 'account-shield-users',
          SESSIONS_TABLE: 'account-shield-sessions',
          RECORDS_TABLE: 'account-shield-records',
        }),
      },
    });
  });

  test('THEN it may only read the revocation state: no writes, no signing key', () => {
    type Document = { Statement: { Action: string | string[] }[] };
    const documents: Document[] = [
      ...Object.values(template.findResources('AWS::IAM::Policy')).map(
        (policy) => policy['Properties'].PolicyDocument as Document,
      ),
      // Inline policies on the roles too: a grant written there must not escape the check.
      ...Object.values(template.findResources('AWS::IAM::Role')).flatMap((role) =>
        ((role['Properties'].Policies ?? []) as { PolicyDocument: Document }[]).map((p) => p.PolicyDocument),
      ),
    ];
    const actions = documents.flatMap((document) =>
      document.Statement.flatMap((statement) =>
        Array.isArray(statement.Action) ? statement.Action : [statement.Action],
      ),
    );
    // Literal, not infra/workloads.ts's list: adding an action there must fail here.
    expect([...new Set(actions)].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expect([...tokenAuthorizerActions].sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem']);
  });

  test('THEN each table read is limited to the revocation attributes, and records to the tenant policy item', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy['Properties'].PolicyDocument.Statement as {
          Action: string | string[];
          Resource: unknown;
          Condition?: Record<string, Record<string, unknown>>;
        }[],
    );
    const dynamo = statements.filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:'));
    expect(dynamo).toHaveLength(3);
    for (const statement of dynamo) {
      const table = (['users', 'sessions', 'records'] as const).find((name) =>
        JSON.stringify(statement.Resource).includes(`account-shield-${name}`),
      )!;
      const reads = tokenAuthorizerReads[table];
      expect({ table, condition: statement.Condition }).toEqual({
        table,
        condition: {
          'ForAllValues:StringEquals': {
            'dynamodb:Attributes': [...reads.attributes],
            ...(reads.leadingKeys ? { 'dynamodb:LeadingKeys': [...reads.leadingKeys] } : {}),
          },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
          Null: { 'dynamodb:Attributes': 'false' },
        },
      });
      for (const secret of [
        'passwordHash',
        'totpSecret',
        'recoveryCodeHashes',
        'refreshTokenHash',
        'graceRefreshToken',
      ])
        expect(reads.attributes).not.toContain(secret);
    }
    expect(tokenAuthorizerReads.records.leadingKeys).toEqual(['tenant']);
  });

  test('THEN API Gateway may invoke it', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
    });
  });
});

describe('GIVEN the authorizer with API Gateway caching disabled', () => {
  test('THEN the function may keep its own revocation cache of 500 ms', () => {
    const { template } = resourceServer({ resultsCacheTtl: Duration.seconds(0) });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REVOCATION_CACHE_MS: '500' }) },
    });
  });
});

describe('GIVEN a cache TTL longer than the contract allows', () => {
  test('THEN the construct refuses it', () => {
    expect(() => resourceServer({ resultsCacheTtl: Duration.seconds(5) })).toThrow(/0 or 1 second/);
  });
});
