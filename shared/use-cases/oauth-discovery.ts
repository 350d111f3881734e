import type { Config } from '../config.js';
import { SIGNING_ALGORITHM } from '../crypto/key-store.js';
import { GRANT_TYPES } from '../domain/oauth.js';

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'];

/**
 * RFC 8414 authorization server metadata, also served as the OpenID Connect discovery document. The issuer is
 * JWT_ISSUER, which must be the API's public origin: every endpoint is published under it.
 */
export function authorizationServerMetadata(config: Pick<Config, 'jwt'>) {
  const issuer = config.jwt.issuer.replace(/\/+$/, '');
  return {
    issuer: config.jwt.issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    authorization_endpoint: `${issuer}/oauth2/authorize`,
    token_endpoint: `${issuer}/oauth2/token`,
    device_authorization_endpoint: `${issuer}/oauth2/device_authorization`,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    grant_types_supported: [...GRANT_TYPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    authorization_response_iss_parameter_supported: true,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
  };
}
