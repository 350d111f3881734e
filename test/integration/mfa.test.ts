import { generate } from 'otplib';
import { type Api, logIn, signUp } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;

beforeAll(async () => {
  stack = await startTestStack();
  client = api(stack.apiUrl);
});
afterAll(async () => {
  await stack?.stop();
});

/** A code for the step `offsetSteps` away from now (each step is usable once). */
const codeAt = (secret: string, offsetSteps = 0) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });

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
    { otp: await codeAt(setup.body.secret, -1) },
    { token: tokens.accessToken },
  );
  expect(confirm.status).toBe(200);
  return { secret: setup.body.secret, recoveryCodes: confirm.body.recoveryCodes, tokens };
}

describe('TOTP two-factor', () => {
  it('requires a code after setup, accepts each step once, and mails a notice', async () => {
    const account = await signUp(client);
    const { secret, recoveryCodes } = await enableTotp(account);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);

    const withoutCode = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
    });
    expect(withoutCode.status).toBe(401);
    expect(withoutCode.body).toMatchObject({ error: 'mfa_required' });

    const wrongCode = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
      otp: '000000',
    });
    expect(wrongCode.status).toBe(401);
    expect(wrongCode.body).toMatchObject({ error: 'invalid_otp' });

    const code = await codeAt(secret);
    const ok = await client.post<{ user: { mfaEnabled: boolean } }>('/v1/auth/login', {
      login: account.email,
      password: account.password,
      otp: code,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.user.mfaEnabled).toBe(true);
    const replay = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
      otp: code,
    });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'invalid_otp' });

    const mails = await stack.ses.waitForMail(account.email, { timeoutMs: 10_000 });
    expect(mails.map((m) => m.subject)).toContain('Two-factor authentication is on');
  });

  it('accepts an unused recovery code once, in place of a code', async () => {
    const account = await signUp(client);
    const { recoveryCodes } = await enableTotp(account);
    const code = recoveryCodes[3]!;
    const first = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
      otp: code,
    });
    expect(first.status).toBe(200);
    const again = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
      otp: code,
    });
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
      { password: 'not-the-password', otp: await codeAt(secret) },
      { token: tokens.accessToken },
    );
    expect(badPassword.status).toBe(401);
    const off = await client.delete(
      '/v1/auth/mfa/totp',
      { password: account.password, otp: await codeAt(secret, 1) },
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
      otp: await codeAt(secret, 1),
    });
    expect(done.status).toBe(200);
  });
});
