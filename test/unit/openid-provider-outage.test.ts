import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenIdProviders } from '../../shared/oidc/openid-providers.js';
import { SsoFlowError } from '../../shared/ports/identity-providers.js';

/**
 * A provider whose discovery answers and whose token endpoint fails in the ways a real outage does: a
 * connection accepted and dropped, or a 503. Each must end the sign-in as `unavailable` (try again later), never
 * as `invalid_id_token`, which tells the user the provider sent something forged.
 */
type TokenBehaviour = 'hang-up' | 'service-unavailable';

let server: Server;
let issuer: string;
let behaviour: TokenBehaviour = 'hang-up';

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/.well-known/openid-configuration') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
      return;
    }
    if (behaviour === 'hang-up') {
      request.socket.destroy();
      return;
    }
    response.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function signInError(): Promise<unknown> {
  const providers = createOpenIdProviders(
    [
      {
        id: 'stub',
        displayName: 'Stub',
        issuer,
        clientId: 'client',
        clientSecret: 'secret',
        jitCreate: false,
        scopes: 'openid email',
      },
    ],
    async () => 'unused',
  );
  return providers
    .completeAuthorization('stub', {
      callbackUrl: new URL(`https://api.example.test/v1/auth/sso/stub/callback?code=abc&state=s1`),
      expectedState: 's1',
      expectedNonce: 'n1',
      codeVerifier: 'v'.repeat(43),
    })
    .then(
      () => undefined,
      (error: unknown) => error,
    );
}

describe.each<TokenBehaviour>(['hang-up', 'service-unavailable'])(
  'a token endpoint that fails with %s',
  (mode) => {
    it('ends the sign-in as unavailable', async () => {
      behaviour = mode;
      const error = await signInError();
      expect(error).toBeInstanceOf(SsoFlowError);
      expect((error as SsoFlowError).code).toBe('unavailable');
    });
  },
);
