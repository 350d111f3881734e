import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { type Api, logIn, signUp } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let authorize: (
  event: APIGatewayRequestAuthorizerEventV2,
) => Promise<{ isAuthorized: boolean; context: object }>;
let createTokenAuthorizer: typeof import('../../functions/token-authorizer.js').createTokenAuthorizer;

beforeAll(async () => {
  stack = await startTestStack({ notifier: false });
  client = api(stack.apiUrl);
  // The authorizer trusts only the published JWKS; the stack set the table and JWT variables.
  process.env.JWKS_URL = `${stack.apiUrl}/.well-known/jwks.json`;
  ({ handler: authorize, createTokenAuthorizer } = await import('../../functions/token-authorizer.js'));
});
afterAll(async () => {
  await stack?.stop();
});

const eventWith = (authorization?: string) =>
  ({
    version: '2.0',
    type: 'REQUEST',
    routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/videos',
    identitySource: authorization ? [authorization] : [],
    routeKey: 'GET /videos',
    rawPath: '/videos',
    rawQueryString: '',
    headers: authorization ? { authorization } : {},
    requestContext: {} as APIGatewayRequestAuthorizerEventV2['requestContext'],
  }) as APIGatewayRequestAuthorizerEventV2;

describe('Lambda token authorizer for resource servers', () => {
  it('authorises a live token and passes the user and session on', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const result = await authorize(eventWith(`Bearer ${tokens.accessToken}`));
    expect(result).toEqual({
      isAuthorized: true,
      context: { userId: account.id, sessionId: tokens.sessionId, tokenVersion: 0 },
    });
  });

  it('denies missing, malformed and revoked tokens', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    expect((await authorize(eventWith())).isAuthorized).toBe(false);
    expect((await authorize(eventWith('Bearer nonsense'))).isAuthorized).toBe(false);
    await client.post('/v1/auth/revoke-all', undefined, { token: tokens.accessToken });
    // The authorizer keeps its own revocation cache, like a separate Lambda instance: at most 1 s.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await authorize(eventWith(`Bearer ${tokens.accessToken}`))).isAuthorized).toBe(false);
  });

  it('sees a revoke-all once its cached answer is 500 ms old (REVOCATION_CACHE_MS default), on a fake clock', async () => {
    // Prepare: a live token whose answer this authorizer instance has cached at `cachedAt`.
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const cachedAt = Date.now();
    let nowMs = cachedAt;
    const authorizeAt = createTokenAuthorizer({ clock: { now: () => new Date(nowMs) } });
    const event = eventWith(`Bearer ${tokens.accessToken}`);
    expect((await authorizeAt(event)).isAuthorized).toBe(true);

    // Act: the revocation lands in DynamoDB through the API (another instance: this cache is not told).
    const revoked = await client.post('/v1/auth/revoke-all', undefined, { token: tokens.accessToken });
    expect(revoked.status).toBe(204);

    // Assess: just under 500 ms the cached answer still stands (the cache really was loaded), at 500 ms it is
    // read again and the token is refused.
    nowMs = cachedAt + 499;
    expect((await authorizeAt(event)).isAuthorized).toBe(true);
    nowMs = cachedAt + 500;
    expect((await authorizeAt(event)).isAuthorized).toBe(false);
  });
});
