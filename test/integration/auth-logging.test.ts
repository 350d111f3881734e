/**
 * Logs with request context: the functions log through Powertools (one JSON line per call on stdout), every
 * authentication request writes one "auth outcome" line with the Lambda request id, and no secret (password,
 * token, one-time code, recovery code, TOTP secret, reset token, Authorization header) appears in any line.
 *
 * The local stack invokes the handlers in this process, so their log lines are captured from stdout and stderr.
 */
import { type Api, logIn, signUp, type Tokens, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';
import { totpCode } from '../support/totp.js';

let stack: TestStack;
let client: Api;
const captured: string[] = [];
let restoreStreams: (() => void) | undefined;

beforeAll(async () => {
  stack = await startTestStack({ env: { LOG_LEVEL: 'DEBUG' } });
  client = api(stack.apiUrl);
  // Powertools writes INFO/DEBUG lines to stdout and WARN/ERROR lines to stderr.
  const restore = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  });
  restoreStreams = () => {
    for (const undo of restore) undo();
  };
}, 60_000);

afterAll(async () => {
  restoreStreams?.();
  await stack?.stop();
});

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly function_request_id?: string;
  readonly action?: string;
  readonly outcome?: string;
  readonly userId?: string;
  readonly sessionId?: string;
  readonly sourceIp?: string;
  readonly [key: string]: unknown;
}

function logLines(): LogLine[] {
  return captured
    .join('')
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

async function resetTokenFor(email: string): Promise<string> {
  expect((await client.post('/v1/auth/password/forgot', { email })).status).toBe(202);
  const [mail] = await stack.ses.waitForMail(email, { timeoutMs: 30_000 });
  const token = /[#?&]token=([A-Za-z0-9_-]+)/.exec(mail?.body.text ?? '')?.[1];
  if (!token) throw new Error('no reset link in the mail');
  return token;
}

describe('authentication logs', () => {
  it('write one outcome line with the request id per login, refresh, reset, MFA and revoke-all, and no secret', async () => {
    const secrets: string[] = [stack.adminToken];
    const keep = (...values: string[]) => secrets.push(...values);
    const account = await signUp(client, { username: uniqueName('logs') });
    keep(account.password);
    const tokens: Tokens[] = [];

    // Login: wrong password, then right.
    const wrongPassword = `wrong-${account.password}`;
    keep(wrongPassword);
    expect(
      (await client.post('/v1/auth/login', { login: account.email, password: wrongPassword })).status,
    ).toBe(401);
    const first = await logIn(client, account);
    tokens.push(first);

    // Refresh twice, then present the token two rotations old (reuse ends the session; the previous one alone
    // would be a concurrent refresh within the grace window).
    const refreshed = await client.post<Tokens>('/v1/auth/refresh', { refreshToken: first.refreshToken });
    expect(refreshed.status).toBe(200);
    tokens.push(refreshed.body);
    const again = await client.post<Tokens>('/v1/auth/refresh', {
      refreshToken: refreshed.body.refreshToken,
    });
    expect(again.status).toBe(200);
    tokens.push(again.body);
    expect((await client.post('/v1/auth/refresh', { refreshToken: first.refreshToken })).status).toBe(401);

    // Password reset by mail.
    const resetToken = await resetTokenFor(account.email);
    const newPassword = `${account.password}-renewed`;
    keep(resetToken, newPassword);
    expect(
      (
        await client.post('/v1/auth/password/reset', {
          token: resetToken,
          newPassword,
          signOutAllDevices: true,
        })
      ).status,
    ).toBe(200);
    const renewed = { email: account.email, password: newPassword };

    // Two-factor: setup, confirm, then a login without a code, with a wrong one and with a right one.
    const signedIn = await logIn(client, renewed);
    tokens.push(signedIn);
    const setup = await client.post<{ secret: string; otpauthUri: string }>(
      '/v1/auth/mfa/totp/setup',
      { password: newPassword },
      { token: signedIn.accessToken },
    );
    expect(setup.status).toBe(200);
    keep(setup.body.secret, setup.body.otpauthUri);
    const confirmCode = await totpCode(setup.body.secret, -1);
    const confirm = await client.post<{ recoveryCodes: string[] }>(
      '/v1/auth/mfa/totp/confirm',
      { otp: confirmCode },
      { token: signedIn.accessToken },
    );
    expect(confirm.status).toBe(200);
    keep(...confirm.body.recoveryCodes);
    expect(
      (await client.post('/v1/auth/login', { login: account.email, password: newPassword })).status,
    ).toBe(401);
    expect(
      (await client.post('/v1/auth/login', { login: account.email, password: newPassword, otp: '000000' }))
        .status,
    ).toBe(401);
    const loginCode = await totpCode(setup.body.secret, 0);
    const withCode = await logIn(client, renewed, { otp: loginCode });
    tokens.push(withCode);

    // Sign out everywhere, then an operator forces a reset: the right password now gets reset_required.
    expect(
      (await client.post('/v1/auth/revoke-all', undefined, { token: withCode.accessToken })).status,
    ).toBe(204);
    expect(
      (await client.post(`/v1/admin/users/${account.id}/force-reset`, {}, { token: stack.adminToken }))
        .status,
    ).toBe(202);
    const nextCode = await totpCode(setup.body.secret, 1);
    expect(
      (await client.post('/v1/auth/login', { login: account.email, password: newPassword, otp: nextCode }))
        .status,
    ).toBe(403);
    for (const issued of tokens) keep(issued.accessToken, issued.refreshToken);

    const lines = logLines();
    const outcomes = lines.filter((line) => line.message === 'auth outcome' && line.userId === account.id);
    expect(outcomes.map((line) => `${line.action} ${line.outcome}`)).toEqual([
      'login failed',
      'login ok',
      'refresh ok',
      'refresh ok',
      'refresh reuse_detected',
      'password_reset ok',
      'login ok',
      'mfa_setup ok',
      'mfa_confirm ok',
      'login mfa_required',
      'login invalid_otp',
      'login ok',
      'revoke_all ok',
      'login reset_required',
    ]);
    for (const line of outcomes) {
      expect(line.function_request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(line.sourceIp).toBe('127.0.0.1');
    }
    // One line per request: every request id appears in at most one outcome line.
    const ids = lines
      .filter((line) => line.message === 'auth outcome')
      .map((line) => line.function_request_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(outcomes.find((line) => line.outcome === 'reuse_detected')).toMatchObject({
      level: 'WARN',
      sessionId: first.sessionId,
    });

    const text = captured.join('');
    expect(text.length).toBeGreaterThan(0);
    const leaked = secrets.filter((secret) => secret.length >= 6 && text.includes(secret));
    expect(leaked).toEqual([]);
    for (const code of [confirmCode, loginCode, nextCode]) {
      expect(lines.filter((line) => JSON.stringify(line).includes(`"${code}"`))).toEqual([]);
    }
    expect(text).not.toMatch(/authorization|bearer /i);
    expect(text).not.toMatch(/\$argon2/);
  }, 120_000); // a dozen argon2 checks and two mails, on a machine that may be busy
});
