/**
 * The page code for SSO, OAuth and device approval, against the request and response shapes of
 * INTERFACES.md. The SSO and OAuth routes are built on other branches: here the browser answers those calls
 * itself (playwright's request routing), so what is tested is the pages' behaviour, and these tests keep passing
 * once the real routes exist. Everything else (sign-in, sessions) is the real API.
 */
import type { Browser, Page, Route } from 'playwright-core';
import { newDevice, signInThroughPage, useBrowserStack } from '../support/browser.js';
import { type Api, logIn, signUp } from '../support/fixtures.js';
import type { TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let browser: Browser;

useBrowserStack({}, (started) => {
  ({ stack, client, browser } = started);
});

const json = (route: Route, status: number, body: unknown) =>
  route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

/** Serves the SSO provider list of INTERFACES.md. */
async function offerProviders(page: Page): Promise<void> {
  await page.route('**/v1/auth/sso/providers', (route) =>
    json(route, 200, {
      providers: [{ id: 'local', displayName: 'Local IdP', startUrl: '/v1/auth/sso/local/start' }],
    }),
  );
}

describe('pages for SSO, OAuth and devices', () => {
  it('shows no SSO button when no provider is configured', async () => {
    const { context, page } = await newDevice(browser);
    const providers = page.waitForResponse('**/v1/auth/sso/providers');
    await page.goto(`${stack.apiUrl}/login`);
    const answer = await providers;
    expect(answer.status()).toBe(200);
    expect(((await answer.json()) as { providers: unknown[] }).providers).toEqual([]);
    await expect(page.getByRole('button', { name: /^Continue with/ }).count()).resolves.toBe(0);
    await context.close();
  });

  it('offers "Continue with <provider>" and starts SSO with returnTo and the device name', async () => {
    const { context, page } = await newDevice(browser);
    await offerProviders(page);
    let started: URL | undefined;
    await page.route('**/v1/auth/sso/local/start*', (route) => {
      started = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'provider sign-in' });
    });
    await page.goto(`${stack.apiUrl}/login?returnTo=%2Fdevice`);
    await page.getByRole('button', { name: 'Continue with Local IdP' }).click();
    await page.getByText('provider sign-in').waitFor();
    expect(started?.origin).toBe(stack.apiUrl);
    expect(started?.searchParams.get('returnTo')).toBe('/device');
    expect(started?.searchParams.get('deviceName')).toMatch(/on Linux$/);
    await context.close();
  });

  it('exchanges #sso_code for a session (code only in the POST body) and goes to returnTo', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account, { deviceName: 'SSO stand-in' });
    const { context, page } = await newDevice(browser);
    let exchanged: unknown;
    await page.route('**/v1/auth/sso/exchange', (route) => {
      exchanged = route.request().postDataJSON();
      return json(route, 200, tokens);
    });
    await page.goto(`${stack.apiUrl}/login#sso_code=one-time-code-123&returnTo=%2Fsecurity`);
    await page.waitForURL(`${stack.apiUrl}/security`);
    await page.getByText(account.email).waitFor();
    expect(exchanged).toEqual({ code: 'one-time-code-123', deviceName: expect.any(String) });
    await context.close();
  });

  it('explains #sso_error and a used sign-in code', async () => {
    const { context, page } = await newDevice(browser);
    await page.goto(`${stack.apiUrl}/login#sso_error=not_linked`);
    await page.getByText('No account here is linked to that identity.').waitFor();
    await page.route('**/v1/auth/sso/exchange', (route) =>
      json(route, 400, { error: 'invalid_grant', message: 'Unknown code.' }),
    );
    // The provider's redirect is a full navigation; from /login itself a fragment change alone would not reload.
    await page.goto('about:blank');
    await page.goto(`${stack.apiUrl}/login#sso_code=used`);
    await page.getByText('That sign-in link has expired or was already used.').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await context.close();
  });

  it('completes a pending OAuth authorization after sign-in and follows redirectTo', async () => {
    const account = await signUp(client);
    const { context, page } = await newDevice(browser);
    let completed: { body: unknown; authorization: string | null } | undefined;
    await page.route('**/v1/auth/authorize/complete', (route) => {
      completed = {
        body: route.request().postDataJSON(),
        authorization: route.request().headers()['authorization'] ?? null,
      };
      return json(route, 200, { redirectTo: `${stack.apiUrl}/forgot-password?code=abc&state=xyz` });
    });
    await page.goto(`${stack.apiUrl}/login?authorization=pending-123`);
    await page.getByLabel('Email or username').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.apiUrl}/forgot-password?code=abc&state=xyz`);
    expect(completed?.body).toEqual({ authorization: 'pending-123' });
    expect(completed?.authorization).toMatch(/^Bearer /);
    await context.close();
  });

  it('approves a device code: pre-filled code, the client name, Allow', async () => {
    const account = await signUp(client);
    const { context, page } = await newDevice(browser);
    const calls: { path: string; body: unknown }[] = [];
    await page.route('**/v1/auth/device/*', (route) => {
      const path = new URL(route.request().url()).pathname;
      calls.push({ path, body: route.request().postDataJSON() });
      if (path.endsWith('/lookup'))
        return json(route, 200, {
          request: {
            userCode: 'WDJB-MJHT',
            clientName: 'Living-room TV',
            expiresAt: new Date().toISOString(),
          },
        });
      return route.fulfill({ status: 204 });
    });
    // Not signed in: /device sends the visitor to sign in and back, keeping the code.
    await page.goto(`${stack.apiUrl}/device?user_code=wdjbmjht`);
    await page.waitForURL(/\/login\?returnTo=/);
    await page.getByLabel('Email or username').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.apiUrl}/device?user_code=wdjbmjht`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Living-room TV wants to sign in to your account.').waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Done: your device is signing in.').waitFor();
    expect(calls).toEqual([
      { path: '/v1/auth/device/lookup', body: { userCode: 'WDJB-MJHT' } },
      { path: '/v1/auth/device/approve', body: { userCode: 'WDJB-MJHT' } },
    ]);
    await context.close();
  });

  it('says an unknown device code is wrong (404 not_found)', async () => {
    const account = await signUp(client);
    const { context, page } = await newDevice(browser);
    await signInThroughPage(page, stack.apiUrl, account, { returnTo: '/device' });
    await page.getByLabel('Code').fill('ZZZZ-ZZZZ');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('That code is not right or has expired.').waitFor();
    await context.close();
  });
});
