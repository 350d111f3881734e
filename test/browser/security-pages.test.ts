/**
 * Signed-in pages in a real browser: /login (code step, forced reset, throttling), /security (two-factor
 * enrolment from the page, connected devices, "Sign out of all devices") and /security/report.
 */
import { jest } from '@jest/globals';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import {
  newDevice,
  screenshot,
  signInThroughPage,
  storedAccessToken,
  useBrowserStack,
} from '../support/browser.js';
import { type Api, logIn, signUp } from '../support/fixtures.js';
import type { TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let browser: Browser;

useBrowserStack({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' } }, (started) => {
  ({ stack, client, browser } = started);
});

const codeAt = (secret: string, offsetSteps = 0) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });

describe('/security and /login', () => {
  it('turns on two-factor from the page (secret read from the page), then signs in with the code step', async () => {
    const account = await signUp(client);
    const { context, page } = await newDevice(browser);
    await signInThroughPage(page, stack.apiUrl, account);
    await page.getByText(account.email).waitFor();

    const mfa = page.getByRole('region', { name: 'Two-factor authentication' });
    await mfa.getByLabel('Current password').filter({ visible: true }).fill(account.password);
    await mfa.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await mfa.getByRole('button', { name: 'Turn on' }).waitFor();
    // The secret as the page shows it to a person who types it into their app.
    const secret = (await mfa.getByText(/^Key:/).textContent())?.replace(/^Key:/, '').trim() ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await expect(mfa.getByRole('img', { name: 'QR code of your two-factor key' }).isVisible()).resolves.toBe(
      true,
    );
    await screenshot(page, 'security-2fa-setup');
    await mfa
      .getByRole('textbox', { name: 'Code', exact: true })
      .filter({ visible: true })
      .fill(await codeAt(secret));
    await mfa.getByRole('button', { name: 'Turn on' }).click();
    await mfa.getByText('Save these recovery codes now.').waitFor();
    await expect(page.locator('#mfa-recovery-codes li').count()).resolves.toBe(10);
    await expect(
      mfa.getByRole('button', { name: 'Turn off two-factor authentication' }).isVisible(),
    ).resolves.toBe(true);
    await context.close();

    // A new device: password, then the code step.
    const second = await newDevice(browser);
    await second.page.goto(`${stack.apiUrl}/login`);
    await second.page.getByLabel('Email or username').fill(account.username);
    await second.page.getByLabel('Password').fill(account.password);
    await second.page.getByRole('button', { name: 'Sign in' }).click();
    await second.page.getByLabel('Code').waitFor({ state: 'visible' });
    await screenshot(second.page, 'login-code-step');
    await second.page.getByLabel('Code').fill(await codeAt(secret, 1));
    await second.page.getByRole('button', { name: 'Sign in' }).click();
    await second.page.waitForURL(`${stack.apiUrl}/security`);
    await second.page.getByText(account.email).waitFor();
    await second.context.close();
  });

  it('lists connected devices, signs one out, then "Sign out of all devices" ends every session', async () => {
    const account = await signUp(client);
    const tv = await logIn(client, account, { deviceName: 'Living-room TV' });
    const phone = await logIn(client, account, { deviceName: 'Old phone' });
    const { context, page } = await newDevice(browser);
    await signInThroughPage(page, stack.apiUrl, account);

    const devices = page.getByRole('region', { name: 'Connected devices' });
    const tvEntry = devices.getByRole('listitem').filter({ hasText: 'Living-room TV' });
    await tvEntry.waitFor();
    await expect(devices.getByRole('listitem').count()).resolves.toBe(3);
    await screenshot(page, 'security');
    await tvEntry.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Living-room TV is signed out.').waitFor();
    expect((await client.get('/v1/auth/session', { token: tv.accessToken })).status).toBe(401);
    expect((await client.get('/v1/auth/session', { token: phone.accessToken })).status).toBe(200);

    const pageToken = await storedAccessToken(page);
    await page.getByRole('button', { name: 'Sign out of all devices' }).click();
    await page.getByText('You are signed out of all devices, this one included.').waitFor();
    for (const token of [phone.accessToken, pageToken]) {
      expect((await client.get('/v1/auth/session', { token })).status).toBe(401);
    }
    // Nothing is left in the tab; /security sends the visitor to sign in.
    await page.goto(`${stack.apiUrl}/security`);
    await page.waitForURL(`${stack.apiUrl}/login?returnTo=%2Fsecurity`);
    await context.close();
  });

  it('changes the password from /security', async () => {
    const account = await signUp(client);
    const other = await logIn(client, account);
    const { context, page } = await newDevice(browser);
    await signInThroughPage(page, stack.apiUrl, account);
    const section = page.getByRole('region', { name: 'Password' });
    await section.getByLabel('Current password').fill(account.password);
    await section.getByLabel('New password').fill('short');
    await section.getByRole('button', { name: 'Change password' }).click();
    await section.getByText('Use at least 8 characters.').waitFor();
    await section.getByLabel('New password').fill(`${account.password}-renewed`);
    await section.getByRole('button', { name: 'Change password' }).click();
    await section.getByText('Your password is changed, and your other devices are signed out.').waitFor();
    expect((await client.get('/v1/auth/session', { token: other.accessToken })).status).toBe(401);
    expect((await client.get('/v1/auth/session', { token: await storedAccessToken(page) })).status).toBe(200);
    await context.close();
  });

  it('"Secure my account" signs out everywhere, forces a reset, records the event and alerts operators', async () => {
    const account = await signUp(client);
    const other = await logIn(client, account);
    const logSpy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { context, page } = await newDevice(browser);
      await signInThroughPage(page, stack.apiUrl, account, { returnTo: '/security/report' });
      await screenshot(page, 'security-report');
      await page.getByRole('button', { name: 'Secure my account' }).click();
      await page.getByText('Your account is secured.').waitFor();
      await expect(page.getByRole('status').textContent()).resolves.toContain('emailed you a link');
      expect((await client.get('/v1/auth/session', { token: other.accessToken })).status).toBe(401);
      const alerts = logSpy.mock.calls
        .map(([line]) => String(line))
        .filter((line) => line.includes('UserReportedCompromise'));
      expect(alerts).toHaveLength(1);
      expect(JSON.parse(alerts[0]!)).toMatchObject({ userId: account.id, alert: 'user_reported_compromise' });
      expect(alerts[0]).not.toContain(account.email);

      // Signing in again is refused until the password is reset, and the page says where to go.
      await page.goto(`${stack.apiUrl}/login`);
      await page.getByLabel('Email or username').fill(account.email);
      await page.getByLabel('Password').fill(account.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Your password must be changed before you can sign in again').waitFor();
      await expect(
        page.getByRole('link', { name: 'Send me a new reset link' }).getAttribute('href'),
      ).resolves.toBe('/forgot-password');
      await context.close();
    } finally {
      logSpy.mockRestore();
    }
    const [resetMail] = await stack.ses.waitForMail(account.email, { timeoutMs: 10_000 });
    const token = /\/reset-password#token=([^\s>"]+)/.exec(resetMail?.body.text ?? '')?.[1] ?? '';
    const newPassword = `${account.password}-after-report`;
    const reset = await client.post('/v1/auth/password/reset', {
      token: decodeURIComponent(token),
      newPassword,
    });
    expect(reset.status).toBe(200);
    const tokens = await logIn(client, { email: account.email, password: newPassword });
    const events = await client.get<{ events: { type: string; detail: Record<string, unknown> }[] }>(
      '/v1/me/security-events',
      { token: tokens.accessToken },
    );
    expect(events.body.events.find((event) => event.type === 'account_secured')?.detail).toEqual({
      signedOutAllDevices: true,
      passwordResetRequired: true,
    });
  });

  it('shows the wait when sign-in is throttled', async () => {
    const account = await signUp(client);
    const { context, page } = await newDevice(browser);
    await page.goto(`${stack.apiUrl}/login`);
    await page.getByLabel('Email or username').fill(account.email);
    let throttled = false;
    for (let attempt = 0; attempt < 6 && !throttled; attempt += 1) {
      await page.getByLabel('Password').fill(`wrong-${attempt}-password`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = page.getByRole('alert');
      await alert.filter({ hasText: /not right|Too many/ }).waitFor();
      throttled = ((await alert.textContent()) ?? '').includes('Too many sign-in attempts');
      if (!throttled) await page.getByRole('button', { name: 'Sign in' }).isEnabled();
    }
    expect(throttled).toBe(true);
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/wait \d+ (second|minute)s? before/);
    await context.close();
  });
});
