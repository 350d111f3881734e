import { OAuthError } from '../shared/errors.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { deviceAuthorizationForm, tokenForm, tokenStatusForm } from '../shared/http/oauth-schemas.js';
import { json, noContent } from '../shared/http/responses.js';
import { authorizeCompleteBody, deviceUserCodeBody } from '../shared/http/schemas.js';
import {
  authorizationCodeGrant,
  authorize,
  completeAuthorization,
} from '../shared/use-cases/oauth-authorization-code.js';
import { authenticateClient } from '../shared/use-cases/oauth-clients.js';
import {
  decideDeviceAuthorization,
  deviceCodeGrant,
  lookupDeviceAuthorization,
  startDeviceAuthorization,
} from '../shared/use-cases/oauth-device.js';
import { authorizationServerMetadata } from '../shared/use-cases/oauth-discovery.js';
import { introspectToken, revokeToken } from '../shared/use-cases/oauth-token-status.js';
import { clientCredentialsGrant, refreshTokenGrant } from '../shared/use-cases/oauth-tokens.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** No optional adapter: none of this function's routes hashes, mails, or uses KMS, Lambda or SSO providers. */
const getDeps = createDepsLoader({});

const clientOf = (
  deps: Parameters<typeof authenticateClient>[0],
  headers: Readonly<Record<string, string | undefined>>,
  body: { client_id?: string | undefined; client_secret?: string | undefined },
) =>
  authenticateClient(deps, {
    authorization: headers['authorization'],
    clientId: body.client_id,
    clientSecret: body.client_secret,
  });

export const handler = createHttpHandler(
  'oauth',
  {
    'GET /.well-known/openid-configuration': route({
      handle: async (_request, deps) => json(200, authorizationServerMetadata(deps.config)),
    }),
    'GET /.well-known/oauth-authorization-server': route({
      handle: async (_request, deps) => json(200, authorizationServerMetadata(deps.config)),
    }),
    'GET /oauth2/authorize': route({
      handle: async ({ query }, deps) => {
        const outcome = await authorize(deps, query);
        if (outcome.kind === 'error') throw outcome.error;
        return { status: 302, headers: { location: outcome.location } };
      },
    }),
    'POST /oauth2/token': route({
      form: true,
      body: tokenForm,
      handle: async ({ body, headers, origin }, deps) => {
        const client = await clientOf(deps, headers, body);
        switch (body.grant_type) {
          case 'authorization_code':
            return json(
              200,
              await authorizationCodeGrant(
                deps,
                client,
                { code: body.code, redirectUri: body.redirect_uri, codeVerifier: body.code_verifier },
                origin,
              ),
            );
          case 'refresh_token':
            if (!body.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required.');
            return json(200, await refreshTokenGrant(deps, client, body.refresh_token, origin));
          case 'urn:ietf:params:oauth:grant-type:device_code':
            return json(200, await deviceCodeGrant(deps, client, body.device_code, origin));
          case 'client_credentials':
            return json(200, await clientCredentialsGrant(deps, client, body.scope));
          default:
            throw new OAuthError(
              'unsupported_grant_type',
              `The grant type ${body.grant_type} is not supported.`,
            );
        }
      },
    }),
    'POST /oauth2/device_authorization': route({
      form: true,
      body: deviceAuthorizationForm,
      handle: async ({ body, headers }, deps) =>
        json(200, await startDeviceAuthorization(deps, await clientOf(deps, headers, body), body.scope)),
    }),
    'POST /oauth2/revoke': route({
      form: true,
      body: tokenStatusForm,
      handle: async ({ body, headers, origin }, deps) => {
        await revokeToken(deps, await clientOf(deps, headers, body), body.token, origin);
        return json(200, {});
      },
    }),
    'POST /oauth2/introspect': route({
      form: true,
      body: tokenStatusForm,
      handle: async ({ body, headers }, deps) =>
        json(200, await introspectToken(deps, await clientOf(deps, headers, body), body.token)),
    }),
    'POST /v1/auth/authorize/complete': route({
      body: authorizeCompleteBody,
      handle: async ({ body, principal }, deps) =>
        json(200, await completeAuthorization(deps, principal, body.authorization)),
    }),
    'POST /v1/auth/device/lookup': route({
      body: deviceUserCodeBody,
      handle: async ({ body, principal, origin }, deps) =>
        json(200, await lookupDeviceAuthorization(deps, principal, body.userCode, origin)),
    }),
    'POST /v1/auth/device/approve': route({
      body: deviceUserCodeBody,
      handle: async ({ body, principal, origin }, deps) => {
        await decideDeviceAuthorization(deps, principal, body.userCode, 'approved', origin);
        return noContent();
      },
    }),
    'POST /v1/auth/device/deny': route({
      body: deviceUserCodeBody,
      handle: async ({ body, principal, origin }, deps) => {
        await decideDeviceAuthorization(deps, principal, body.userCode, 'denied', origin);
        return noContent();
      },
    }),
  },
  getDeps,
  logger,
);
