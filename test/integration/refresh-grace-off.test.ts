/** REFRESH_GRACE_SECONDS=0 turns the grace window off: any second use of a rotated token ends the session. */
import { type Api, logIn, signUp, sleep } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;

beforeAll(async () => {
  stack = await startTestStack({ notifier: false, env: { REFRESH_GRACE_SECONDS: '0' } });
  client = api(stack.apiUrl);
});
afterAll(async () => {
  await stack?.stop();
});

describe('refresh grace window turned off', () => {
  it('lets exactly one of two concurrent refreshes win and ends the session', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const results = await Promise.all(
      [1, 2].map(() =>
        client.post<{ refreshToken?: string; accessToken?: string }>('/v1/auth/refresh', {
          refreshToken: tokens.refreshToken,
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = results.find((r) => r.status === 200)!;
    expect((await client.post('/v1/auth/refresh', { refreshToken: winner.body.refreshToken })).status).toBe(
      401,
    );
    await sleep(1100);
    expect((await client.get('/v1/auth/session', { token: winner.body.accessToken })).status).toBe(401);
  });

  it('ends the session when the previous token is presented again at once', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const rotated = await client.post<{ refreshToken: string }>('/v1/auth/refresh', {
      refreshToken: tokens.refreshToken,
    });
    expect(rotated.status).toBe(200);
    expect((await client.post('/v1/auth/refresh', { refreshToken: tokens.refreshToken })).status).toBe(401);
    expect((await client.post('/v1/auth/refresh', { refreshToken: rotated.body.refreshToken })).status).toBe(
      401,
    );
  });
});
