import { type Api, logIn, signUp, sleep, uniqueName } from '../support/fixtures.js';
import { TEST_APP_URL, type TestStack, useTestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
useTestStack({}, (started) => {
  ({ stack, client } = started);
});

const NEVER_ASK = 'We will never ask for your password or card number by email.';

/** Asks for a reset mail and returns the token from its link (the count-th reset mail to that address). */
async function requestResetToken(email: string, count = 1): Promise<string> {
  const response = await client.post('/v1/auth/password/forgot', { email });
  expect(response.status).toBe(202);
  const mails = await stack.ses.waitForMail(email, { count, timeoutMs: 10_000 });
  const resetMails = mails.filter((m) => m.subject === 'Reset your password');
  const text = resetMails[resetMails.length - 1]!.body.text ?? '';
  const match = /(https:\/\/\S+[#?&]token=([A-Za-z0-9_-]+))/.exec(text);
  expect(match?.[1]?.startsWith(`${TEST_APP_URL}/`)).toBe(true);
  return match![2]!;
}

describe('forgot password', () => {
  it('answers known, unknown and SSO emails with the same 202 body, and mails each the right thing', async () => {
    const account = await signUp(client);
    const ssoEmail = `${uniqueName('sso')}@example.test`;
    await client.post('/v1/admin/users', { email: ssoEmail, authMethod: 'sso' }, { token: stack.adminToken });
    const unknownEmail = `${uniqueName('nobody')}@example.test`;

    const responses = await Promise.all(
      [account.email, ssoEmail, unknownEmail].map((email) =>
        client.post('/v1/auth/password/forgot', { email }),
      ),
    );
    for (const response of responses) {
      expect(response.status).toBe(202);
      expect(response.text).toBe(responses[0]!.text);
    }

    const [resetMail] = await stack.ses.waitForMail(account.email, { timeoutMs: 10_000 });
    expect(resetMail!.subject).toBe('Reset your password');
    expect(resetMail!.body.text).toMatch(/reset-password#token=[A-Za-z0-9_-]{43,}/);
    expect(resetMail!.body.text).toContain('Sign out connected devices');
    expect(resetMail!.body.text).toContain(NEVER_ASK);

    const [ssoMail] = await stack.ses.waitForMail(ssoEmail, { timeoutMs: 10_000 });
    expect(ssoMail!.subject).toBe('How you sign in to your account');
    expect(ssoMail!.body.text).toContain('Sign out of all devices');
    expect(ssoMail!.body.text).not.toContain('token=');

    await sleep(1500);
    expect(await stack.ses.listMail(unknownEmail)).toEqual([]);
  });

  it('sends at most 3 reset mails per account per hour while the response stays 202', async () => {
    const account = await signUp(client);
    for (let i = 0; i < 5; i += 1) {
      expect((await client.post('/v1/auth/password/forgot', { email: account.email })).status).toBe(202);
    }
    await stack.ses.waitForMail(account.email, { count: 3, timeoutMs: 10_000 });
    await sleep(2000);
    expect(await stack.ses.listMail(account.email)).toHaveLength(3);
  });
});

describe('reset password', () => {
  it('sets the new password and, by default, signs out every device in the same step', async () => {
    const account = await signUp(client);
    const devices = await Promise.all(
      ['TV', 'Phone'].map((deviceName) => logIn(client, account, { deviceName })),
    );
    const token = await requestResetToken(account.email);

    const reset = await client.post('/v1/auth/password/reset', {
      token,
      newPassword: 'brand-new-harbour-light',
    });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ signedOutAllDevices: true });
    expect(reset.text).not.toMatch(/accessToken|refreshToken/);

    for (const device of devices) {
      expect((await client.get('/v1/auth/session', { token: device.accessToken })).status).toBe(401);
      expect((await client.post('/v1/auth/refresh', { refreshToken: device.refreshToken })).status).toBe(401);
    }
    expect(
      (await client.post('/v1/auth/login', { login: account.email, password: account.password })).status,
    ).toBe(401);
    await logIn(client, { email: account.email, password: 'brand-new-harbour-light' });

    const mails = await stack.ses.waitForMail(account.email, { count: 2, timeoutMs: 10_000 });
    const notice = mails.find((m) => m.subject === 'Your password was changed');
    expect(notice?.body.text).toContain(NEVER_ASK);
  });

  it('keeps other devices signed in when signOutAllDevices is false', async () => {
    const account = await signUp(client);
    const tv = await logIn(client, account, { deviceName: 'TV' });
    const token = await requestResetToken(account.email);
    const reset = await client.post('/v1/auth/password/reset', {
      token,
      newPassword: 'quiet-meadow-lantern',
      signOutAllDevices: false,
    });
    expect(reset.body).toEqual({ signedOutAllDevices: false });
    expect((await client.get('/v1/auth/session', { token: tv.accessToken })).status).toBe(200);
    expect((await client.post('/v1/auth/refresh', { refreshToken: tv.refreshToken })).status).toBe(200);
  });

  it('answers replayed, random and malformed tokens identically with 400 invalid_token', async () => {
    const account = await signUp(client);
    const token = await requestResetToken(account.email);
    expect(
      (await client.post('/v1/auth/password/reset', { token, newPassword: 'first-reset-passphrase' })).status,
    ).toBe(200);
    const replayed = await client.post('/v1/auth/password/reset', {
      token,
      newPassword: 'second-reset-passphrase',
    });
    const random = await client.post('/v1/auth/password/reset', {
      token: 'A'.repeat(43),
      newPassword: 'second-reset-passphrase',
    });
    expect(replayed.status).toBe(400);
    expect(replayed.body).toEqual({ error: 'invalid_token', message: expect.any(String) });
    expect(random.text).toBe(replayed.text);
  });

  it('lets exactly one of several concurrent confirms of the same token succeed', async () => {
    const account = await signUp(client);
    const token = await requestResetToken(account.email);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        client.post('/v1/auth/password/reset', { token, newPassword: `concurrent-reset-${i}-passphrase` }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400]);
  });

  it('keeps an older unexpired token valid after a newer one is issued, until a reset completes', async () => {
    const account = await signUp(client);
    const older = await requestResetToken(account.email, 1);
    const newer = await requestResetToken(account.email, 2);
    expect(newer).not.toBe(older);
    expect(
      (await client.post('/v1/auth/password/reset', { token: older, newPassword: 'older-token-passphrase' }))
        .status,
    ).toBe(200);
    // The completed reset invalidated every outstanding token.
    const stale = await client.post('/v1/auth/password/reset', {
      token: newer,
      newPassword: 'newer-token-passphrase',
    });
    expect(stale.status).toBe(400);
  });

  it('rejects weak new passwords with each reason and leaves the token usable', async () => {
    const account = await signUp(client);
    const token = await requestResetToken(account.email);
    const cases: [string, string][] = [
      ['tiny7', 'too_short'],
      ['iloveyou', 'common'],
      [account.password, 'same_as_current'],
      [`my-${account.username}-pw`, 'contains_identifier'],
    ];
    for (const [newPassword, reason] of cases) {
      const response = await client.post<{ reasons: string[] }>('/v1/auth/password/reset', {
        token,
        newPassword,
      });
      expect(response.status).toBe(422);
      expect(response.body.reasons).toContain(reason);
    }
    expect(
      (await client.post('/v1/auth/password/reset', { token, newPassword: 'finally-a-good-passphrase' }))
        .status,
    ).toBe(200);
  });

  it('reads the token from the body only', async () => {
    const response = await client.post('/v1/auth/password/reset?token=abc', {
      newPassword: 'some-long-passphrase',
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_request' });
  });
});

describe('change password', () => {
  it('needs the current password, signs out other devices by default, and returns fresh tokens', async () => {
    const account = await signUp(client);
    const here = await logIn(client, account, { deviceName: 'Laptop' });
    const other = await logIn(client, account, { deviceName: 'TV' });

    const wrong = await client.post(
      '/v1/auth/password/change',
      { currentPassword: 'not-my-password', newPassword: 'changed-passphrase-1' },
      { token: here.accessToken },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'invalid_credentials' });

    const changed = await client.post<{ accessToken: string; refreshToken: string; sessionId: string }>(
      '/v1/auth/password/change',
      { currentPassword: account.password, newPassword: 'changed-passphrase-1' },
      { token: here.accessToken },
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { id: account.id } });
    expect((await client.get('/v1/auth/session', { token: changed.body.accessToken })).status).toBe(200);
    expect((await client.get('/v1/auth/session', { token: other.accessToken })).status).toBe(401);
    expect((await client.get('/v1/auth/session', { token: here.accessToken })).status).toBe(401);
    const sessions = await client.get<{ sessions: { deviceName: string }[] }>('/v1/auth/sessions', {
      token: changed.body.accessToken,
    });
    expect(sessions.body.sessions.map((s) => s.deviceName)).toEqual(['Laptop']);
  });

  it('keeps other devices with signOutOtherDevices false, and rejects a weak new password', async () => {
    const account = await signUp(client);
    const here = await logIn(client, account);
    const other = await logIn(client, account);
    const weak = await client.post(
      '/v1/auth/password/change',
      { currentPassword: account.password, newPassword: account.password },
      { token: here.accessToken },
    );
    expect(weak.status).toBe(422);
    expect(weak.body).toMatchObject({ reasons: ['same_as_current'] });
    const changed = await client.post(
      '/v1/auth/password/change',
      {
        currentPassword: account.password,
        newPassword: 'kept-devices-passphrase',
        signOutOtherDevices: false,
      },
      { token: here.accessToken },
    );
    expect(changed.status).toBe(200);
    expect((await client.get('/v1/auth/session', { token: other.accessToken })).status).toBe(200);
  });
});
