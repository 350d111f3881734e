/**
 * The grace window for concurrent refreshes, with a short window (1 s) so the test can outlast it. The default
 * window (10 s) is exercised by auth-flows.test.ts; turning it off (0) by refresh-grace-off.test.ts.
 */
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { InvalidGrantError } from '../../shared/errors.js';
import { login } from '../../shared/use-cases/login.js';
import { refreshSession } from '../../shared/use-cases/sessions.js';
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

const origin = { ip: '198.51.100.30', userAgent: 'test' };

describe('refresh grace window of 1 s', () => {
  it('answers the previous token until the window (counted from the rotation) ends, then ends the session', async () => {
    // The use-case on the real stores with a fake clock: the window's edges to the millisecond, however slow the
    // machine (on the real clock, "in the window" was a race against a 1 s timer).
    let nowMs = Date.now();
    const deps = createDeps(loadConfig(process.env), undefined, { now: () => new Date(nowMs) });
    const account = await signUp(client);
    const first = await login(deps, { login: account.email, password: account.password }, origin);
    const rotatedAt = nowMs;
    const rotated = await refreshSession(deps, first.refreshToken, origin);

    nowMs = rotatedAt + 1000;
    const inWindow = await refreshSession(deps, first.refreshToken, origin);
    expect(inWindow.refreshToken).toBe(rotated.refreshToken);

    // One millisecond later the window is over, although the last grace answer was just now.
    nowMs = rotatedAt + 1001;
    await expect(refreshSession(deps, first.refreshToken, origin)).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(refreshSession(deps, rotated.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );
    // Past every revocation cache (<= 1 s), the session's access token is refused through the API too.
    await sleep(1100);
    expect((await client.get('/v1/auth/session', { token: rotated.accessToken })).status).toBe(401);
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
