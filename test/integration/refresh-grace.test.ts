/**
 * The grace window for concurrent refreshes, with a short window (1 s) so the test can outlast it. The default
 * window (10 s) is exercised by auth-flows.test.ts; turning it off (0) by refresh-grace-off.test.ts.
 */
import { type Api, logIn, signUp, sleep } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;

beforeAll(async () => {
  stack = await startTestStack({ notifier: false, env: { REFRESH_GRACE_SECONDS: '1' } });
  client = api(stack.apiUrl);
});
afterAll(async () => {
  await stack?.stop();
});

describe('refresh grace window of 1 s', () => {
  it('ends the session when the previous token comes back after the window', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const rotated = await client.post<{ refreshToken: string; accessToken: string }>('/v1/auth/refresh', {
      refreshToken: tokens.refreshToken,
    });
    expect(rotated.status).toBe(200);
    const inWindow = await client.post<{ refreshToken: string }>('/v1/auth/refresh', {
      refreshToken: tokens.refreshToken,
    });
    expect(inWindow.status).toBe(200);
    expect(inWindow.body.refreshToken).toBe(rotated.body.refreshToken);
    // The window counts from the rotation, not from the last grace answer.
    await sleep(1300);

    const late = await client.post('/v1/auth/refresh', { refreshToken: tokens.refreshToken });
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ error: 'invalid_grant' });
    expect((await client.post('/v1/auth/refresh', { refreshToken: rotated.body.refreshToken })).status).toBe(
      401,
    );
    await sleep(1100);
    expect((await client.get('/v1/auth/session', { token: rotated.body.accessToken })).status).toBe(401);
  });

  it('still covers two refreshes at the same moment', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const results = await Promise.all(
      [1, 2].map(() => client.post('/v1/auth/refresh', { refreshToken: tokens.refreshToken })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200]);
  });
});
