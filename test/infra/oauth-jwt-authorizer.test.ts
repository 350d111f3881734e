import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { loadDeploymentConfig } from '../../infra/config.js';
import { OAuthJwtAuthorizer } from '../../infra/constructs/oauth-jwt-authorizer.js';
import { authorizationServerMetadata } from '../../shared/use-cases/oauth-discovery.js';
import { testApp } from './support/app.js';

afterAll(() => {
  CloudAssembly.cleanupTemporaryDirectories();
});

describe('GIVEN a resource server protecting a route with the API Gateway JWT authorizer', () => {
  // The issuer and audience the deployed functions get (JWT_ISSUER / JWT_AUDIENCE), from the same context.
  const app = testApp();
  const config = loadDeploymentConfig((key) => app.node.tryGetContext(key), {});
  const discovery = authorizationServerMetadata({
    jwt: { issuer: config.jwtIssuer, audience: config.jwtAudience },
  });
  const stack = new Stack(app, 'MediaServer');
  const jwt = new OAuthJwtAuthorizer('AccountShieldJwt', {
    issuer: discovery.issuer,
    audience: [config.jwtAudience],
  });
  new HttpApi(stack, 'LibraryApi').addRoutes({
    path: '/library',
    methods: [HttpMethod.GET],
    integration: new HttpUrlIntegration('Library', 'https://library.internal.example.com'),
    authorizer: jwt.authorizer,
    authorizationScopes: ['media.read'],
  });
  const template = Template.fromStack(stack);

  it('THEN the authorizer trusts exactly the issuer of the discovery document, whose metadata lives under it', () => {
    const authorizers = Object.values(template.findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(1);
    const properties = authorizers[0]?.['Properties'] as Record<string, unknown>;
    expect(properties['AuthorizerType']).toBe('JWT');
    expect(properties['IdentitySource']).toEqual(['$request.header.Authorization']);
    expect(properties['JwtConfiguration']).toEqual({
      Issuer: discovery.issuer,
      Audience: ['account-shield'],
    });
    // API Gateway fetches `${Issuer}/.well-known/openid-configuration` and the keys at its jwks_uri: both must
    // be served by account-shield at that origin, over https.
    expect(discovery.issuer).toMatch(/^https:\/\//);
    expect(discovery.jwks_uri).toBe(`${discovery.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`);
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['ES256']);
  });

  it('THEN the route requires the scope, which API Gateway matches against the token scope claim', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /library',
      AuthorizationType: 'JWT',
      AuthorizationScopes: ['media.read'],
    });
  });
});
