import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';

export interface OAuthJwtAuthorizerProps {
  /** account-shield's issuer (`JWT_ISSUER`); API Gateway reads `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  /**
   * Accepted `aud` (user tokens) or `client_id` (client credentials and OAuth tokens) values: API Gateway accepts
   * a token whose `aud` or `client_id` is in this list.
   * @default ['account-shield']
   */
  readonly audience?: readonly string[];
  /** Routes may also require scopes (`authorizationScopes`), matched against the token's `scope` claim. */
  readonly authorizerName?: string;
}

/**
 * API Gateway's built-in JWT authorizer configured from account-shield's discovery document, for resource
 * servers that want signature, `iss`, `aud`/`client_id`, expiry and scopes checked before their function runs.
 *
 * It does NOT see revocations (revoke-all, an ended session, an incident) before the token expires (up to
 * 15 minutes): routes that must stop at once use the TokenAuthorizer construct (revocation state <= 1 s) or
 * call `POST /oauth2/introspect`.
 */
export class OAuthJwtAuthorizer {
  readonly authorizer: HttpJwtAuthorizer;

  constructor(id: string, props: OAuthJwtAuthorizerProps) {
    this.authorizer = new HttpJwtAuthorizer(id, props.issuer, {
      jwtAudience: [...(props.audience ?? ['account-shield'])],
      identitySource: ['$request.header.Authorization'],
      ...(props.authorizerName ? { authorizerName: props.authorizerName } : {}),
    });
  }
}
