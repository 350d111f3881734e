import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { createDeps } from '../../shared/app.js';
import { isDependencyFailure } from '../../shared/aws/dynamodb-errors.js';
import { loadConfig } from '../../shared/config.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

/**
 * DynamoDB "down", in the two ways a dependency fails: `reset` accepts a connection and drops it (a refused or
 * broken connection), `hang` accepts it and never answers (the request-timeout path, after the SDK's retries).
 */
function startBlackHole(): Promise<{
  url: string;
  mode: 'reset' | 'hang';
  close: () => Promise<void>;
}> {
  const held = new Set<Socket>();
  const hole = {
    url: '',
    mode: 'reset' as 'reset' | 'hang',
    close: () =>
      new Promise<void>((done) => {
        for (const socket of held) socket.destroy();
        server.close(() => done());
      }),
  };
  const server: Server = createServer((socket) => {
    if (hole.mode === 'reset') {
      socket.destroy();
      return;
    }
    // Read the request and never write a byte back.
    held.add(socket);
    socket.on('data', () => {});
    socket.on('close', () => held.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      hole.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve(hole);
    });
  });
}

let stack: TestStack;
let blackHole: Awaited<ReturnType<typeof startBlackHole>>;

beforeAll(async () => {
  blackHole = await startBlackHole();
  stack = await startTestStack({
    notifier: false,
    // A short request timeout: the hang path waits it out on each of the SDK's attempts.
    env: { DYNAMODB_ENDPOINT: blackHole.url, LOG_LEVEL: 'SILENT', AWS_REQUEST_TIMEOUT_MS: '1000' },
  });
});
afterAll(async () => {
  await stack?.stop();
  await blackHole?.close();
});

beforeEach(() => {
  blackHole.mode = 'reset';
});

/** A correctly signed, unexpired access token from this stack's own signing key: only its revocation state is unknown. */
async function signedAccessToken(): Promise<string> {
  const deps = createDeps(loadConfig(process.env));
  const { token } = await deps.accessTokens.issue({
    userId: 'user-during-outage',
    sessionId: 'session-during-outage',
    tokenVersion: 0,
    issuedAt: Math.floor(Date.now() / 1000),
  });
  return token;
}

function expectUnavailable(response: Awaited<ReturnType<ReturnType<typeof api>['get']>>) {
  expect(response.status).toBe(503);
  expect(response.body).toEqual({ error: 'unavailable', message: expect.any(String) });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(response.text).not.toMatch(/ECONN|socket|timeout|at \w+ \(|Exception|dynamodb/i);
}

describe('when DynamoDB is unreachable', () => {
  it('answers 503 unavailable with retry-after, and leaks no AWS or stack details', async () => {
    const client = api(stack.apiUrl);
    for (const response of [
      await client.post('/v1/auth/login', { login: 'someone@example.test', password: 'some-password' }),
      await client.post('/v1/accounts', {
        email: 'new@example.test',
        username: 'newbie',
        password: 'violet-river-canyon',
      }),
    ]) {
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ error: 'unavailable', message: expect.any(String) });
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(response.text).not.toMatch(/ECONN|socket|at \w+ \(|Exception|dynamodb/i);
    }
  });

  it('fails Bearer routes closed: a valid token whose revocation state cannot be read gets 503, never 200', async () => {
    const token = await signedAccessToken();
    // GET /v1/auth/session reads nothing but the revocation state: it can only answer 200 by failing open.
    const response = await api(stack.apiUrl).get('/v1/auth/session', { token });
    expectUnavailable(response);
  });

  it('answers 503 when DynamoDB accepts the connection and never answers (request timeout), on public and Bearer routes', async () => {
    blackHole.mode = 'hang';
    const token = await signedAccessToken();
    const client = api(stack.apiUrl);
    // In parallel: each waits out the SDK's request timeout on every attempt.
    const [login, session] = await Promise.all([
      client.post('/v1/auth/login', { login: 'someone@example.test', password: 'some-password' }),
      client.get('/v1/auth/session', { token }),
    ]);
    expectUnavailable(login);
    expectUnavailable(session);
  }, 30_000);

  it('makes the Lambda authorizer fail closed (an error, never an Allow) while DynamoDB is down', async () => {
    const token = await signedAccessToken();
    process.env.JWKS_URL = `${stack.apiUrl}/.well-known/jwks.json`;
    const { createTokenAuthorizer } = await import('../../functions/token-authorizer.js');
    const authorize = createTokenAuthorizer();
    const event = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/videos',
      identitySource: [`Bearer ${token}`],
      routeKey: 'GET /videos',
      rawPath: '/videos',
      rawQueryString: '',
      headers: { authorization: `Bearer ${token}` },
      cookies: [],
      requestContext: {} as APIGatewayRequestAuthorizerEventV2['requestContext'],
    } as APIGatewayRequestAuthorizerEventV2;
    const failure = await authorize(event).then(
      (result) => ({ resolved: result }),
      (error: unknown) => error,
    );
    // Thrown (API Gateway then denies), and for the outage, not for the token: the signature was fine.
    expect(isDependencyFailure(failure)).toBe(true);
  });
});
