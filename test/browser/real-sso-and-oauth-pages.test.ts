/**
 * The pages against the real SSO and OAuth routes: an SSO account (created by an admin, as in a breach mail's
 * audience) signs in through the local OpenID provider and signs out of all devices; and a first-party app signs a
 * user in with authorization code + PKCE through the hosted /login page, finished by openid-client.
 */
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { newDevice, storedAccessToken, useBrowserStack } from '../support/browser.js';
import { type Api, signUp, uniqueName } from '../support/fixtures.js';
import type { TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let browser: Browser;

useBrowserStack({ localIdp: { jitCreate: false } }, (started) => {
  ({ stack, client, browser } = started);
});

describe('pages with the real SSO and OAuth routes', () => {
  it('an admin-created SSO account signs in with the Local IdP, reaches /security and signs out everywhere', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    const created = await client.post(
      '/v1/admin/users',
      { email, authMethod: 'sso' },
      { token: stack.adminToken },
    );
    expect(created.status).toBe(201);

    const { context, page } = await newDevice(browser);
    await page.goto(`${stack.apiUrl}/login`);
    await page.getByRole('button', { name: 'Continue with Local IdP' }).click();
    // The provider's own sign-in page (oidc-provider on another port).
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.apiUrl}/security`);
    await page.getByText(email).waitFor();

    const pageToken = await storedAccessToken(page);
    expect((await client.get('/v1/auth/session', { token: pageToken })).status).toBe(200);
    await page.getByRole('button', { name: 'Sign out of all devices' }).click();
    await page.getByText('You are signed out of all devices, this one included.').waitFor();
    expect((await client.get('/v1/auth/session', { token: pageToken })).status).toBe(401);
    await context.close();
  });

  it('signs a user in to an app with authorization code + PKCE through the hosted /login page', async () => {
    const redirectUri = 'http://127.0.0.1:9/callback';
    const registered = await client.post<{ client: { clientId: string } }>(
      '/v1/admin/clients',
      {
        name: 'Web app',
        type: 'public',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [redirectUri],
      },
      { token: stack.adminToken },
    );
    expect(registered.status).toBe(201);
    const clientId = registered.body.client.clientId;
    const config = await oidc.discovery(new URL(stack.apiUrl), clientId, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });

    const account = await signUp(client);
    const { context, page } = await newDevice(browser);
    // The app's redirect URI is not served by anything here: the browser hands the callback to the test.
    let callback: URL | undefined;
    await page.route(`${redirectUri}*`, (route) => {
      callback = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the app' });
    });
    await page.goto(authorizationUrl.href);
    await page.waitForURL(/\/login\?authorization=/);
    await page.getByLabel('Email or username').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('back at the app').waitFor();
    expect(callback?.searchParams.get('state')).toBe(state);

    const tokens = await oidc.authorizationCodeGrant(config, callback!, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect((await client.get('/v1/auth/session', { token: tokens.access_token })).status).toBe(200);
    await context.close();
  });

  it('a TV signs in with a device code approved on the /device page (openid-client polls)', async () => {
    const registered = await client.post<{ client: { clientId: string } }>(
      '/v1/admin/clients',
      {
        name: 'Living-room TV',
        type: 'public',
        grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      },
      { token: stack.adminToken },
    );
    expect(registered.status).toBe(201);
    const config = await oidc.discovery(
      new URL(stack.apiUrl),
      registered.body.client.clientId,
      undefined,
      oidc.None(),
      { execute: [oidc.allowInsecureRequests] },
    );
    const started = await oidc.initiateDeviceAuthorization(config, {});
    const account = await signUp(client);
    const { context, page } = await newDevice(browser);
    await page.goto(started.verification_uri_complete!);
    await page.waitForURL(/\/login\?returnTo=/);
    await page.getByLabel('Email or username').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/device\?user_code=/);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await page.getByText('Living-room TV wants to sign in to your account.').waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Done: your device is signing in.').waitFor();

    const tokens = await oidc.pollDeviceAuthorizationGrant(config, started);
    const sessions = await client.get<{ sessions: { deviceName: string | null }[] }>('/v1/auth/sessions', {
      token: tokens.access_token,
    });
    expect(sessions.body.sessions.map((session) => session.deviceName)).toContain('Living-room TV (device)');
    await context.close();
  });
});
