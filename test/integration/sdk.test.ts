import * as oidc from 'openid-client';
import {
  createAccountShieldClient,
  createResourceServerVerifier,
} from '../../clients/typescript/src/index.js';
import { type Api, signUp, sleep, uniqueName } from '../support/fixtures.js';
import { type TestStack, useTestStack } from '../support/test-stack.js';

/** The SDK of clients/typescript against the local stack. */
let stack: TestStack;
let client: Api;
useTestStack({}, (started) => {
  ({ stack, client } = started);
});

/**
 * The contract's bound, not a speed target: once `boundMs` has passed (every revocation cache has expired), the
 * check must hold. Waiting first keeps the test independent of how loaded the machine is.
 */
async function holdsAfter(boundMs: number, check: () => Promise<boolean>): Promise<void> {
  await sleep(boundMs);
  expect(await check()).toBe(true);
}

describe('SDK against the local stack', () => {
  it('keeps the session alive through concurrent calls with an expired access token (one refresh)', async () => {
    const account = await signUp(client);
    const sdk = createAccountShieldClient({ baseUrl: stack.apiUrl });
    const signedIn = await sdk.login({
      login: account.email,
      password: account.password,
      deviceName: 'SDK test',
    });
    // A token the API refuses stands in for an expired one: every call below gets 401 first.
    const session = sdk.withTokens({
      tokens: { accessToken: 'not-a-valid-token', refreshToken: signedIn.login.refreshToken },
    });
    const users = await Promise.all(Array.from({ length: 8 }, () => session.me()));
    expect(users.every((user) => user.id === account.id)).toBe(true);
    // Two refreshes with the same token would have been reuse and ended the session.
    expect((await session.session()).sessionId).toBe(signedIn.login.sessionId);
    const wrong = await sdk
      .login({ login: account.email, password: 'wrong-password-1' })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });

  it('verifies tokens in a resource server and sees a revoke-all within a second', async () => {
    const registered = await client.post<{ client: { clientId: string }; clientSecret: string }>(
      '/v1/admin/clients',
      { name: uniqueName('Media server'), type: 'confidential', grantTypes: ['client_credentials'] },
      { token: stack.adminToken },
    );
    const withIntrospection = createResourceServerVerifier({
      issuer: stack.apiUrl,
      introspectionClient: {
        clientId: registered.body.client.clientId,
        clientSecret: registered.body.clientSecret,
      },
    });
    const withSessionRoute = createResourceServerVerifier({ issuer: stack.apiUrl });
    const account = await signUp(client);
    const signedIn = await createAccountShieldClient({ baseUrl: stack.apiUrl }).login({
      login: account.email,
      password: account.password,
    });
    const token = signedIn.tokens.current.accessToken;
    expect((await withIntrospection.verify(token)).sub).toBe(account.id);
    expect((await withSessionRoute.verify(token)).sid).toBe(signedIn.login.sessionId);
    const machine = await oidc.clientCredentialsGrant(
      await oidc.discovery(
        new URL(stack.apiUrl),
        registered.body.client.clientId,
        registered.body.clientSecret,
        undefined,
        {
          execute: [oidc.allowInsecureRequests],
        },
      ),
    );
    expect((await withIntrospection.verify(machine.access_token)).client_id).toBe(
      registered.body.client.clientId,
    );
    await expect(withIntrospection.verify('not.a.jwt')).rejects.toMatchObject({ code: 'invalid_token' });

    await signedIn.revokeAll();
    // The API's own cache (<= 1 s) plus the verifier's (<= 1 s) bound it.
    await holdsAfter(2_000, async () => {
      const results = await Promise.allSettled([
        withIntrospection.verify(token),
        withSessionRoute.verify(token),
      ]);
      return results.every((result) => result.status === 'rejected');
    });
  });
});
