/**
 * The SSO callback is throttled per source IP (its own stack: the limit is configuration, read once per file).
 * Local gateway source addresses are set by binding the client socket to 127.0.0.x.
 */
import { request } from 'node:http';
import { startTestStack, TEST_APP_URL, type TestStack } from '../support/test-stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ localIdp: {}, notifier: false, env: { SSO_CALLBACK_MAX_PER_IP: '3' } });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** GET the callback from a given loopback source address; resolves with the redirect location. */
function callbackFrom(localAddress: string): Promise<string | undefined> {
  const url = new URL(`${stack.apiUrl}/v1/auth/sso/local/callback?code=abc&state=not-a-state`);
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers: { cookie: 'account_shield_sso=whatever' } }, (res) => {
      res.resume();
      resolve(res.headers.location);
    });
    req.once('error', reject);
    req.end();
  });
}

it('answers too_many_requests after the per-IP limit of callbacks, and only for that address', async () => {
  for (let attempt = 0; attempt < 3; attempt++) {
    expect(await callbackFrom('127.0.0.7')).toBe(`${TEST_APP_URL}/login#sso_error=invalid_state`);
  }
  expect(await callbackFrom('127.0.0.7')).toBe(`${TEST_APP_URL}/login#sso_error=too_many_requests`);
  expect(await callbackFrom('127.0.0.8')).toBe(`${TEST_APP_URL}/login#sso_error=invalid_state`);
});
