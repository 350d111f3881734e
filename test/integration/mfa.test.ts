import { type Api, logIn, signUp } from '../support/fixtures.js';
import { type TestStack, useTestStack } from '../support/test-stack.js';
import { totpCode } from '../support/totp.js';

let stack: TestStack;
let client: Api;
useTestStack({}, (started) => {
  ({ stack, client } = started);
});

async function enableTotp(account: { email: string; password: string }) {
  const tokens = await logIn(client, account);
  const setup = await client.post<{ secret: string; otpauthUri: string }>(
    '/v1/auth/mfa/totp/setup',
    { password: account.password },
    { token: tokens.accessToken },
  );
  expect(setup.status).toBe(200);
  expect(setup.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/.+secret=/);
  const confirm = await client.post<{ recoveryCodes: string[] }>(
    '/v1/auth/mfa/totp/confirm',
    { otp: await totpCode(setup.body.secret, -1) },
    { token: tokens.accessToken },
  );
  expect(confirm.status).toBe(200);
  return { secret: setup.body.secret, recoveryCodes: confirm.body.recoveryCodes, tokens };
}

/** A sign-in with the account's password and, when given, `otp` (a TOTP or recovery code). */
function logInWithCode<T = Record<string, unknown>>(
  account: { email: string; password: string },
  otp?: string,
) {
  return client.post<T>('/v1/auth/login', {
    login: account.email,
    password: account.password,
    ...(otp === undefined ? {} : { otp }),
  });
}

describe('TOTP two-factor', () => {
  it('requires a code after setup, accepts each step once, and mails a notice', async () => {
    const account = await signUp(client);
    const { secret, recoveryCodes } = await enableTotp(account);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);

    const withoutCode = await logInWithCode(account);
    expect(withoutCode.status).toBe(401);
    expect(withoutCode.body).toMatchObject({ error: 'mfa_required' });

    const wrongCode = await logInWithCode(account, '000000');
    expect(wrongCode.status).toBe(401);
    expect(wrongCode.body).toMatchObject({ error: 'invalid_otp' });

    const code = await totpCode(secret);
    const ok = await logInWithCode<{ user: { mfaEnabled: boolean } }>(account, code);
    expect(ok.status).toBe(200);
    expect(ok.body.user.mfaEnabled).toBe(true);
    const replay = await logInWithCode(account, code);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'invalid_otp' });

    const mails = await stack.ses.waitForMail(account.email, { timeoutMs: 10_000 });
    expect(mails.map((m) => m.subject)).toContain('Two-factor authentication is on');
  });

  it('lets exactly one of two logins sent at once with the same code through', async () => {
    // Prepare
    const account = await signUp(client);
    const { secret } = await enableTotp(account);
    const body = { login: account.email, password: account.password, otp: await totpCode(secret) };

    // Act: both read the account before either uses the step up; only the conditional write can tell them apart.
    const responses = await Promise.all([
      client.post('/v1/auth/login', body),
      client.post('/v1/auth/login', body),
    ]);

    // Assess
    expect(responses.map((response) => response.status).sort()).toEqual([200, 401]);
    expect(responses.find((response) => response.status === 401)?.body).toMatchObject({
      error: 'invalid_otp',
    });
  });

  it('accepts an unused recovery code once, in place of a code', async () => {
    const account = await signUp(client);
    const { recoveryCodes } = await enableTotp(account);
    const code = recoveryCodes[3]!;
    const first = await logInWithCode(account, code);
    expect(first.status).toBe(200);
    const again = await logInWithCode(account, code);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: 'invalid_otp' });
  });

  it('does not ask for a code when the password is wrong', async () => {
    const account = await signUp(client);
    await enableTotp(account);
    const response = await client.post('/v1/auth/login', {
      login: account.email,
      password: 'wrong-password-here',
    });
    expect(response.body).toMatchObject({ error: 'invalid_credentials' });
  });

  it('needs the password and a code to turn TOTP off', async () => {
    const account = await signUp(client);
    const { secret, tokens } = await enableTotp(account);
    const badPassword = await client.delete(
      '/v1/auth/mfa/totp',
      { password: 'not-the-password', otp: await totpCode(secret) },
      { token: tokens.accessToken },
    );
    expect(badPassword.status).toBe(401);
    const off = await client.delete(
      '/v1/auth/mfa/totp',
      { password: account.password, otp: await totpCode(secret, 1) },
      { token: tokens.accessToken },
    );
    expect(off.status).toBe(204);
    expect(
      (await client.post('/v1/auth/login', { login: account.email, password: account.password })).status,
    ).toBe(200);
  });

  it('rejects a wrong confirmation code and keeps TOTP off', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    await client.post(
      '/v1/auth/mfa/totp/setup',
      { password: account.password },
      { token: tokens.accessToken },
    );
    const confirm = await client.post(
      '/v1/auth/mfa/totp/confirm',
      { otp: '123456' },
      { token: tokens.accessToken },
    );
    expect(confirm.status).toBe(401);
    expect(confirm.body).toMatchObject({ error: 'invalid_otp' });
    expect(
      (await client.post('/v1/auth/login', { login: account.email, password: account.password })).status,
    ).toBe(200);
  });

  it('asks for the second factor on password reset', async () => {
    const account = await signUp(client);
    const { secret } = await enableTotp(account);
    await client.post('/v1/auth/password/forgot', { email: account.email });
    const mails = await stack.ses.waitForMail(account.email, { count: 2, timeoutMs: 10_000 });
    const text = mails.find((m) => m.subject === 'Reset your password')!.body.text ?? '';
    const token = /token=([A-Za-z0-9_-]+)/.exec(text)![1]!;
    const missing = await client.post('/v1/auth/password/reset', {
      token,
      newPassword: 'mfa-protected-reset',
    });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: 'mfa_required' });
    const done = await client.post('/v1/auth/password/reset', {
      token,
      newPassword: 'mfa-protected-reset',
      otp: await totpCode(secret, 1),
    });
    expect(done.status).toBe(200);
  });
});
