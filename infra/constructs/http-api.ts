import { CfnOutput, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  ApiMapping,
  CorsHttpMethod,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type FunctionName, type RouteDefinition, routeKey } from '../../shared/http/routes.js';
import { acknowledgeWildcardResource } from '../nag.js';
import type { ApiFunctions } from './functions.js';

export interface HttpApiProps {
  readonly routes: readonly RouteDefinition[];
  readonly functions: ApiFunctions;
  readonly corsAllowedOrigins: readonly string[];
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * The host the hosted account pages (and the API) answer at, with its ACM certificate: mapped to the default
   * stage, so publicAppUrl's links reach the pages function. @default none (the execute-api URL only)
   */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
}

/**
 * One JSON line per request. Deliberately absent: headers (Authorization, cookies, user agent), the query string
 * and bodies, so no token, password or reset secret can reach the logs. `caller` is the IAM principal of admin calls.
 */
export const accessLogFields: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
  caller: '$context.identity.userArn',
};

const toHttpMethod = (method: RouteDefinition['method']): HttpMethod => HttpMethod[method];

/** `/v1/admin/users/{id}/force-reset` -> `/v1/admin/users/*\/force-reset` for execute-api ARNs. */
export const executeApiPath = (path: string): string => path.replace(/\{[^}]+\}/g, '*');

/**
 * The HTTP API: every route of shared/http/routes.ts on its route group's function, CORS for the configured
 * origins, stage-wide throttling and JSON access logs. Admin routes use IAM authorisation; bearer routes check
 * the token in the handler (see the acknowledgement below for why not an API Gateway authorizer).
 */
export class AccountShieldHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** Grants execute-api:Invoke on exactly the admin routes; attach it to the operators' role. */
  readonly adminInvokePolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.api = new HttpApi(this, 'Api', {
      description: 'account-shield HTTP API',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [...props.corsAllowedOrigins],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.DELETE],
        allowHeaders: ['authorization', 'content-type'],
        exposeHeaders: ['retry-after', 'www-authenticate'],
        // Bearer tokens travel in a header, never in cookies.
        allowCredentials: false,
        maxAge: Duration.hours(1),
      },
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });

    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationFor = (name: FunctionName) => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${name}Integration`,
          props.functions.functionFor(name).function,
        );
        integrations.set(name, integration);
      }
      return integration;
    };
    const iamAuthorizer = new HttpIamAuthorizer();

    // Unknown paths and methods reach a function too, so they get the contract's JSON 404 with the security
    // headers instead of API Gateway's bare {"message":"Not Found"}.
    const fallback = new HttpRoute(this, 'UnknownRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrationFor('jwks'),
    });
    Validations.of(fallback).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'The $default route only answers 404 not_found for paths that are not part of the API.',
    });

    for (const route of props.routes) {
      const authorizer: IHttpRouteAuthorizer | undefined = route.auth === 'admin' ? iamAuthorizer : undefined;
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [toHttpMethod(route.method)],
        integration: integrationFor(route.functionName),
        ...(authorizer ? { authorizer } : {}),
      });
      if (!httpRoute) throw new Error(`API Gateway created no route for ${routeKey(route)}`);
      if (route.functionName === 'pages') {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${routeKey(route)} is a hosted account page (static HTML or script); what needs a session asks the API with a bearer token.`,
        });
      } else if (route.auth === 'none') {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            `${routeKey(route)} is public by the API contract (sign-up, login, refresh, password reset, JWKS, or OAuth endpoints that authenticate the client themselves); ` +
            'abuse is bounded by stage throttling and the per-account and per-IP throttles in the handler.',
        });
      } else if (route.auth === 'bearer') {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            `${routeKey(route)} verifies the bearer token in the handler (signature, iss/aud, token version, ` +
            'session, tenant not-before) so a revocation applies to the next request and errors follow the API ' +
            'contract; an API Gateway authorizer would cache decisions and answer 401/403 in its own format.',
        });
      }
    }

    this.adminInvokePolicy = new ManagedPolicy(this, 'AdminInvokePolicy', {
      description: 'account-shield: call the admin routes of the HTTP API (attach to the operators role)',
    });
    for (const route of props.routes.filter((candidate) => candidate.auth === 'admin')) {
      const arn = stack.formatArn({
        service: 'execute-api',
        resource: this.api.apiId,
        resourceName: `${this.stage.stageName}/${route.method}${executeApiPath(route.path)}`,
      });
      this.adminInvokePolicy.addStatements(
        new PolicyStatement({ actions: ['execute-api:Invoke'], resources: [arn] }),
      );
      if (route.path.includes('{')) {
        acknowledgeWildcardResource(
          this.adminInvokePolicy,
          arn,
          `${routeKey(route)} has a path parameter; execute-api ARNs match it with "*" (one path segment per route).`,
        );
      }
    }

    if (props.customDomain) {
      const domain = new DomainName(this, 'PagesDomain', {
        domainName: props.customDomain.domainName,
        certificate: Certificate.fromCertificateArn(
          this,
          'PagesCertificate',
          props.customDomain.certificateArn,
        ),
        securityPolicy: SecurityPolicy.TLS_1_2,
      });
      new ApiMapping(this, 'PagesDomainMapping', { api: this.api, domainName: domain, stage: this.stage });
      new CfnOutput(this, 'PagesDomainTarget', {
        description: `DNS target for ${props.customDomain.domainName} (CNAME or alias): the account pages and API`,
        value: domain.regionalDomainName,
      });
    }

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the account-shield API',
      value: this.stage.url,
    });
    new CfnOutput(this, 'JwksUrl', {
      description: 'JWKS of the access-token signing keys (for resource servers and the token authorizer)',
      value: `${this.stage.url}.well-known/jwks.json`,
    });
    new CfnOutput(this, 'AdminInvokePolicyArn', {
      description: 'Managed policy that allows calling the admin routes; attach it to the operators role',
      value: this.adminInvokePolicy.managedPolicyArn,
    });
  }
}
