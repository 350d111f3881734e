import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_REVOCATION_CACHE_MS } from '../../shared/config.js';
import { defaultFunctionsDir, repoRoot } from '../paths.js';
import { tokenAuthorizerActions, tokenAuthorizerReads } from '../workloads.js';
import { esmBundling, lambdaArchitecture, lambdaRuntime } from './app-function.js';

export interface TokenAuthorizerProps {
  /** account-shield's tables (import them with `Table.fromTableName` in another stack). */
  readonly tables: { readonly users: ITable; readonly sessions: ITable; readonly records: ITable };
  /** account-shield's JWKS URL (stack output `JwksUrl`). */
  readonly jwksUrl: string;
  /** Expected `iss` and `aud` of the access tokens. */
  readonly issuer: string;
  readonly audience: string;
  /**
   * How long API Gateway reuses a decision for the same Authorization header. API Gateway counts in whole seconds
   * (0 disables the cache); the contract allows a revoked token to work for at most 1 second, so only 0 and 1 are
   * accepted.
   * @default Duration.seconds(1)
   */
  readonly resultsCacheTtl?: Duration;
  /** @default functions/token-authorizer.ts of account-shield */
  readonly entry?: string;
  /** @default one month */
  readonly logRetention?: RetentionDays;
}

/** The revocation staleness the contract allows, split between API Gateway's cache and the function's own. */
const revocationBudgetMs = 1000;

/**
 * A Lambda authorizer that resource servers behind API Gateway HTTP APIs attach to their routes: it checks the
 * access token's signature against account-shield's JWKS, `iss`/`aud`, and that neither its token version, its
 * session nor the tenant-wide not-before revoke it. Simple responses (`{isAuthorized, context}`) with payload 2.0.
 *
 * ```ts
 * const tokens = new TokenAuthorizer(this, 'Tokens', { tables, jwksUrl, issuer, audience });
 * api.addRoutes({ path: '/orders', methods: [HttpMethod.GET], integration, authorizer: tokens.authorizer });
 * ```
 */
export class TokenAuthorizer extends Construct {
  readonly function: NodejsFunction;
  readonly authorizer: HttpLambdaAuthorizer;

  constructor(scope: Construct, id: string, props: TokenAuthorizerProps) {
    super(scope, id);
    const cacheTtl = props.resultsCacheTtl ?? Duration.seconds(1);
    const cacheMs = cacheTtl.toMilliseconds();
    if (cacheMs !== 0 && cacheMs !== 1000) {
      throw new Error(
        `TokenAuthorizer resultsCacheTtl must be 0 or 1 second (API Gateway caches in whole seconds and a ` +
          `revoked token may work for at most 1 second), got ${cacheTtl.toHumanString()}`,
      );
    }
    // API Gateway's cache and the function's revocation cache add up; together they stay within the budget.
    const revocationCacheMs = Math.min(DEFAULT_REVOCATION_CACHE_MS, revocationBudgetMs - cacheMs);

    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'account-shield token authorizer: reads revocation state',
    });
    logGroup.grantWrite(role);
    // Fine-grained access: only the revocation attributes (a projection is required, so a request for the whole
    // item, password hash or TOTP secret included, is denied), and of the records table only the tenant policy.
    for (const [name, reads] of Object.entries(tokenAuthorizerReads) as [
      keyof typeof tokenAuthorizerReads,
      (typeof tokenAuthorizerReads)[keyof typeof tokenAuthorizerReads],
    ][]) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [...tokenAuthorizerActions],
          resources: [props.tables[name].tableArn],
          conditions: {
            'ForAllValues:StringEquals': {
              'dynamodb:Attributes': [...reads.attributes],
              ...(reads.leadingKeys ? { 'dynamodb:LeadingKeys': [...reads.leadingKeys] } : {}),
            },
            StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
            // ForAllValues is true for an empty set: require the attribute list to be there at all.
            Null: { 'dynamodb:Attributes': 'false' },
          },
        }),
      );
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry ?? join(defaultFunctionsDir, 'token-authorizer.ts'),
      handler: 'handler',
      description: 'account-shield token authorizer',
      runtime: lambdaRuntime,
      architecture: lambdaArchitecture,
      // ES256 verification is CPU-bound; 512 MB keeps it to a few milliseconds.
      memorySize: 512,
      timeout: Duration.seconds(5),
      role,
      logGroup,
      environment: {
        USERS_TABLE: props.tables.users.tableName,
        SESSIONS_TABLE: props.tables.sessions.tableName,
        RECORDS_TABLE: props.tables.records.tableName,
        JWKS_URL: props.jwksUrl,
        JWT_ISSUER: props.issuer,
        JWT_AUDIENCE: props.audience,
        REVOCATION_CACHE_MS: String(revocationCacheMs),
        NODE_OPTIONS: '--enable-source-maps',
      },
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      bundling: esmBundling,
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x like the rest of account-shield; upgrading the runtime is a tested change.',
    });

    this.authorizer = new HttpLambdaAuthorizer('TokenAuthorizer', this.function, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: cacheTtl,
    });
  }
}
