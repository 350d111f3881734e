/**
 * The reset journey in a real browser, as a person who got the mail would do it: /forgot-password, the link
 * from the SES emulator's store, /reset-password with "Sign out connected devices" ticked, and the effect on
 * another signed-in device. One browser for the file; each test opens fresh contexts (fresh devices).
 */
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { linkIn, newDevice, screenshot, useBrowserStack } from '../support/browser.js';
import { type Api, logIn, signUp, uniqueName } from '../support/fixtures.js';
import type { TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let browser: Browser;

useBrowserStack({}, (started) => {
  ({ stack, client, browser } = started);
});

const newPassword = () => `harbour-${uniqueName('lamp')}-meadow`;

/** Asks for a link on /forgot-password and returns the reset link of the reset mail that arrives. */
async function requestResetLink(email: string): Promise<string> {
  const resetMails = async () =>
    (await stack.ses.listMail(email)).filter((mail) => mail.body.text?.includes('/reset-password#token='));
  const before = (await resetMails()).length;
  const { context, page } = await newDevice(browser);
  try {
    await page.goto(`${stack.apiUrl}/forgot-password`);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('status').getByText('we have sent it an email').waitFor();
  } finally {
    await context.close();
  }
  // Other mail (the "two-factor is on" notice, an incident) may arrive in between: wait for the reset mail.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mails = await resetMails();
    if (mails.length > before) return linkIn(mails.at(-1)?.body.text, '/reset-password#token=');
    if (Date.now() > deadline) throw new Error(`no reset mail for ${email} within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('password reset pages', () => {
  it('resets with "Sign out connected devices" ticked, and another device is rejected within 1 s', async () => {
    const account = await signUp(client);
    const otherDevice = await logIn(client, account, { deviceName: 'Living-room TV' });
    expect((await client.get('/v1/auth/session', { token: otherDevice.accessToken })).status).toBe(200);

    const link = await requestResetLink(account.email);
    expect(link.startsWith(`${stack.apiUrl}/reset-password#token=`)).toBe(true);

    const { context, page } = await newDevice(browser);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(link);
    // The token leaves the address bar at once; it travels only in the POST body.
    await page.waitForFunction('!location.hash');
    const box = page.getByLabel('Sign out connected devices after password change');
    await expect(box.isChecked()).resolves.toBe(true);
    await page.getByLabel('New password').fill(newPassword());
    await screenshot(page, 'reset-password');
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByText('Your password has been changed.').waitFor();
    const resetAt = Date.now();
    await expect(page.getByRole('status').textContent()).resolves.toContain(
      'All your devices have been signed out',
    );

    // Revocation is visible within 1 s of the reset.
    let status = 200;
    while (status === 200 && Date.now() - resetAt < 1_000) {
      status = (await client.get('/v1/auth/session', { token: otherDevice.accessToken })).status;
    }
    expect(status).toBe(401);
    const token = new URL(link).hash.slice('#token='.length);
    expect(token.length).toBeGreaterThan(20);
    expect(requests.filter((url) => url.includes(token))).toEqual([]);
    await context.close();
  });

  it('keeps other devices signed in when the box is cleared, and says so', async () => {
    const account = await signUp(client);
    const otherDevice = await logIn(client, account);
    const link = await requestResetLink(account.email);
    const { context, page } = await newDevice(browser);
    await page.goto(link);
    await page.getByLabel('Sign out connected devices after password change').uncheck();
    await page.getByLabel('New password').fill(newPassword());
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByText('Devices that were already signed in stay signed in.').waitFor();
    expect((await client.get('/v1/auth/session', { token: otherDevice.accessToken })).status).toBe(200);
    await context.close();
  });

  it('shows policy reasons as sentences, then says a used link is used and links to /forgot-password', async () => {
    const account = await signUp(client);
    const link = await requestResetLink(account.email);
    const { context, page } = await newDevice(browser);
    await page.goto(link);
    await page.getByLabel('New password').fill('short');
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('alert').getByText('Use at least 8 characters.').waitFor();
    await page.getByLabel('New password').fill(`${account.email.split('@')[0]}-and-more`);
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('alert').getByText('must not contain your email address or username').waitFor();
    await page.getByLabel('New password').fill(newPassword());
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByText('Your password has been changed.').waitFor();

    // The same link a second time.
    const { context: again, page: secondVisit } = await newDevice(browser);
    await secondVisit.goto(link);
    await secondVisit.getByLabel('New password').fill(newPassword());
    await secondVisit.getByRole('button', { name: 'Reset password' }).click();
    await secondVisit.getByText('This reset link has already been used or has expired.').waitFor();
    await expect(
      secondVisit.getByRole('link', { name: 'Request a new link' }).getAttribute('href'),
    ).resolves.toBe('/forgot-password');
    await expect(secondVisit.getByLabel('New password').isVisible()).resolves.toBe(false);
    await Promise.all([context.close(), again.close()]);
  });

  it('asks for the code when the account has two-factor authentication', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const setup = await client.post<{ secret: string }>(
      '/v1/auth/mfa/totp/setup',
      { password: account.password },
      { token: tokens.accessToken },
    );
    const secret = setup.body.secret;
    const confirmed = await client.post(
      '/v1/auth/mfa/totp/confirm',
      { otp: await generate({ secret }) },
      { token: tokens.accessToken },
    );
    expect(confirmed.status).toBe(200);

    const link = await requestResetLink(account.email);
    const { context, page } = await newDevice(browser);
    await page.goto(link);
    await expect(page.getByLabel('Code').isVisible()).resolves.toBe(false);
    await page.getByLabel('New password').fill(newPassword());
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByLabel('Code').waitFor({ state: 'visible' });
    // The confirm above used this 30 s step; a code is usable once, so take the next step's.
    await page.getByLabel('Code').fill(await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByText('Your password has been changed.').waitFor();
    await context.close();
  });

  it("follows an incident mail's link to a finished reset, and the new password signs in", async () => {
    const account = await signUp(client);
    const incident = await client.post(
      '/v1/admin/incidents',
      {
        title: `Breach ${uniqueName('incident')}`,
        scope: { type: 'emails', emails: [account.email] },
        actions: { forcePasswordReset: true, revokeSessions: true },
        notify: { enabled: true },
      },
      { token: stack.adminToken },
    );
    expect(incident.status).toBe(201);
    await stack.runDispatcher();
    const [incidentMail] = await stack.ses.waitForMail(account.email, { timeoutMs: 15_000 });
    const forgotLink = linkIn(incidentMail?.body.text, '/forgot-password');
    expect(forgotLink).toBe(`${stack.apiUrl}/forgot-password`);

    const { context, page } = await newDevice(browser);
    await page.goto(forgotLink);
    await page.getByLabel('Email').fill(account.email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('status').waitFor();
    const mails = await stack.ses.waitForMail(account.email, { count: 2, timeoutMs: 10_000 });
    const resetLink = linkIn(mails.at(-1)?.body.text, '/reset-password#token=');
    await page.goto(resetLink);
    const chosen = newPassword();
    await page.getByLabel('New password').fill(chosen);
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByText('Your password has been changed.').waitFor();
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Email or username').fill(account.email);
    await page.getByLabel('Password').fill(chosen);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.apiUrl}/security`);
    await page.getByText(account.email).waitFor();
    await context.close();
  });
});
