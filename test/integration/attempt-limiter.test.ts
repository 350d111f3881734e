/**
 * Issue 8: the attempt limiter seen from outside. Clients bound to different loopback addresses act as
 * different networks (the local API server takes the socket address as the source IP).
 */
import { generate } from 'otplib';
import { type Api, sleep, uniqueName } from '../support/fixtures.js';
import { type ApiResponse, api, apiFrom } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';
import { totpCode } from '../support/totp.js';

let stack: TestStack;
let client: Api;

const PER_SOURCE = 5;
const ACCOUNT_FREE_CHECKS = 10;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      LOGIN_MAX_FAILURES_PER_ACCOUNT_SOURCE: String(PER_SOURCE),
      LOGIN_MAX_FAILURES_PER_ACCOUNT: String(ACCOUNT_FREE_CHECKS),
      // Long enough that a test cannot outlive the first delay by accident.
      LOGIN_DELAY_BASE_MS: '60000',
      SIGNUP_MAX_PER_IP_PER_HOUR: '3',
      LOG_LEVEL: 'SILENT',
    },
  });
  client = api(stack.apiUrl);
});
afterAll(async () => {
  await stack?.stop();
});

interface Account {
  readonly email: string;
  readonly password: string;
  readonly id: string;
}

/** Accounts made through the admin API, so this file's low sign-up limit is spent only where a test means to. */
async function newAccount(): Promise<Account> {
  const email = `${uniqueName('lim')}@example.test`;
  const password = `amber-${uniqueName('pw')}-harbour`;
  const response = await client.post<{ user: { id: string } }>(
    '/v1/admin/users',
    { email, authMethod: 'password', password },
    { token: stack.adminToken },
  );
  expect(response.status).toBe(201);
  return { email, password, id: response.body.user.id };
}

/** A well-formed code that is valid at none of the accepted steps. */
async function wrongCode(secret: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const valid = new Set(
    await Promise.all([-1, 0, 1, 2].map((step) => generate({ secret, epoch: now + step * 30 }))),
  );
  for (let n = 123456; ; n += 1) if (!valid.has(String(n))) return String(n);
}

async function enableTotp(account: Account) {
  const login = await client.post<{ accessToken: string }>('/v1/auth/login', {
    login: account.email,
    password: account.password,
  });
  expect(login.status).toBe(200);
  const token = login.body.accessToken;
  const setup = await client.post<{ secret: string }>(
    '/v1/auth/mfa/totp/setup',
    { password: account.password },
    { token },
  );
  expect(setup.status).toBe(200);
  const confirm = await client.post<{ recoveryCodes: string[] }>(
    '/v1/auth/mfa/totp/confirm',
    { otp: await totpCode(setup.body.secret, -1) },
    { token },
  );
  expect(confirm.status).toBe(200);
  return { secret: setup.body.secret, recoveryCodes: confirm.body.recoveryCodes, accessToken: token };
}

/** The token of the count-th reset mail to `email` (other notices to the same address are skipped). */
async function resetToken(email: string, count = 1): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const resets = (await stack.ses.listMail(email)).filter((mail) => mail.subject === 'Reset your password');
    if (resets.length >= count) {
      const match = /[#?&]token=([A-Za-z0-9_-]+)/.exec(resets[count - 1]?.body.text ?? '');
      expect(match).not.toBeNull();
      return match![1]!;
    }
    if (Date.now() > deadline) throw new Error(`no reset mail #${count} to ${email}`);
    await sleep(100);
  }
}

function expectThrottled(response: ApiResponse<unknown>) {
  expect(response.status).toBe(429);
  expect(response.body).toMatchObject({ error: 'too_many_requests' });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
}

const statusCounts = (responses: readonly ApiResponse<unknown>[]) =>
  responses.reduce<Record<number, number>>((counts, r) => {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  }, {});

describe('password guessing at sign-in', () => {
  it('lets at most the per-source limit of 40 parallel wrong logins reach the password check', async () => {
    const account = await newAccount();
    const attacker = apiFrom(stack.apiUrl, '127.0.0.2');
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        attacker.post('/v1/auth/login', { login: account.email, password: `wrong-guess-${i}-x` }),
      ),
    );
    const counts = statusCounts(responses);
    // A 401 is a password that was checked; a 429 was refused before argon2 ran.
    expect(counts[401] ?? 0).toBeGreaterThan(0);
    expect(counts[401] ?? 0).toBeLessThanOrEqual(PER_SOURCE);
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(40);
    expectThrottled(responses.find((r) => r.status === 429)!);
  });

  it('keeps the owner signing in from another source while one source keeps failing', async () => {
    const account = await newAccount();
    const attacker = apiFrom(stack.apiUrl, '127.0.0.3');
    const owner = apiFrom(stack.apiUrl, '127.0.0.4');
    const attack = Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        attacker.post('/v1/auth/login', { login: account.email, password: `wrong-guess-${i}-y` }),
      ),
    );
    const signIn = await owner.post('/v1/auth/login', { login: account.email, password: account.password });
    await attack;
    expect(signIn.status).toBe(200);
    // The failing source stays throttled, even with the right password.
    expectThrottled(
      await attacker.post('/v1/auth/login', { login: account.email, password: account.password }),
    );
    expect(
      (await owner.post('/v1/auth/login', { login: account.email, password: account.password })).status,
    ).toBe(200);
  });

  it('delays new sources once many sources failed, but not one the owner signed in from', async () => {
    const account = await newAccount();
    const ownDevice = apiFrom(stack.apiUrl, '127.0.0.5');
    expect(
      (await ownDevice.post('/v1/auth/login', { login: account.email, password: account.password })).status,
    ).toBe(200);
    // One guess each from more sources than the account-wide allowance.
    for (let i = 0; i < ACCOUNT_FREE_CHECKS; i += 1) {
      const response = await apiFrom(stack.apiUrl, `127.0.1.${i + 1}`).post('/v1/auth/login', {
        login: account.email,
        password: `distributed-guess-${i}`,
      });
      expect(response.status).toBe(401);
    }
    expectThrottled(
      await apiFrom(stack.apiUrl, '127.0.1.200').post('/v1/auth/login', {
        login: account.email,
        password: 'distributed-guess-next',
      }),
    );
    const newSource = apiFrom(stack.apiUrl, '127.0.1.201');
    expectThrottled(
      await newSource.post('/v1/auth/login', { login: account.email, password: account.password }),
    );
    expect(
      (await ownDevice.post('/v1/auth/login', { login: account.email, password: account.password })).status,
    ).toBe(200);

    // A completed reset clears what others did: the owner signs in from the new source at once.
    expect((await newSource.post('/v1/auth/password/forgot', { email: account.email })).status).toBe(202);
    const token = await resetToken(account.email);
    const newPassword = `fresh-${uniqueName('pw')}-meadow`;
    expect((await newSource.post('/v1/auth/password/reset', { token, newPassword })).status).toBe(200);
    expect(
      (await newSource.post('/v1/auth/login', { login: account.email, password: newPassword })).status,
    ).toBe(200);
  });

  it('lets the owner back in after a reset even when their own source was locked out', async () => {
    const account = await newAccount();
    const device = apiFrom(stack.apiUrl, '127.0.0.6');
    for (let i = 0; i < 15; i += 1) {
      await device.post('/v1/auth/login', { login: account.email, password: `wrong-guess-${i}-z` });
    }
    expectThrottled(
      await device.post('/v1/auth/login', { login: account.email, password: account.password }),
    );
    expect((await device.post('/v1/auth/password/forgot', { email: account.email })).status).toBe(202);
    const token = await resetToken(account.email);
    const newPassword = `fresh-${uniqueName('pw')}-orchard`;
    expect((await device.post('/v1/auth/password/reset', { token, newPassword })).status).toBe(200);
    expect(
      (await device.post('/v1/auth/login', { login: account.email, password: newPassword })).status,
    ).toBe(200);
  });
});

describe('second-factor guessing', () => {
  it('answers 40 wrong codes with 429 after the limit, mails the owner once and records the event', async () => {
    const account = await newAccount();
    const { secret } = await enableTotp(account);

    const attacker = apiFrom(stack.apiUrl, '127.0.0.7');
    const otp = await wrongCode(secret);
    const responses: ApiResponse<unknown>[] = [];
    for (let i = 0; i < 40; i += 1) {
      responses.push(
        await attacker.post('/v1/auth/login', { login: account.email, password: account.password, otp }),
      );
    }
    const counts = statusCounts(responses);
    expect(counts[401]).toBeLessThanOrEqual(PER_SOURCE);
    expect(responses.filter((r) => (r.body as { error?: string }).error === 'invalid_otp')).toHaveLength(
      counts[401] ?? 0,
    );
    expect(counts[429]).toBeGreaterThanOrEqual(40 - PER_SOURCE);
    expectThrottled(responses[39]!);

    // The owner, elsewhere, still signs in with a right code.
    const owner = apiFrom(stack.apiUrl, '127.0.0.8');
    const signIn = await owner.post<{ accessToken: string }>('/v1/auth/login', {
      login: account.email,
      password: account.password,
      otp: await totpCode(secret),
    });
    expect(signIn.status).toBe(200);

    await sleep(1500);
    const warnings = (await stack.ses.listMail(account.email)).filter(
      (mail) => mail.subject === 'Someone entered your password with a wrong code',
    );
    expect(warnings).toHaveLength(1);
    const events = await owner.get<{ events: { type: string }[] }>('/v1/me/security-events', {
      token: signIn.body.accessToken,
    });
    expect(events.body.events.map((e) => e.type)).toContain('second_factor_failed');
    // 41 sign-ins that each verify an argon2id hash: seconds alone, far more on a loaded 2-core machine.
  }, 90_000);

  it('throttles password guesses on TOTP setup and password and code guesses on TOTP disable', async () => {
    const plain = await newAccount();
    const thief = apiFrom(stack.apiUrl, '127.0.0.9');
    const stolen = await thief.post<{ accessToken: string }>('/v1/auth/login', {
      login: plain.email,
      password: plain.password,
    });
    const setupTries: ApiResponse<unknown>[] = [];
    for (let i = 0; i <= PER_SOURCE; i += 1) {
      setupTries.push(
        await thief.post(
          '/v1/auth/mfa/totp/setup',
          { password: `oracle-guess-${i}` },
          { token: stolen.body.accessToken },
        ),
      );
    }
    expect(setupTries.slice(0, PER_SOURCE).map((r) => r.status)).toEqual(Array(PER_SOURCE).fill(401));
    expectThrottled(setupTries[PER_SOURCE]!);

    const account = await newAccount();
    const { secret, accessToken } = await enableTotp(account);
    const other = apiFrom(stack.apiUrl, '127.0.0.10');
    const passwordTries: ApiResponse<unknown>[] = [];
    for (let i = 0; i <= PER_SOURCE; i += 1) {
      passwordTries.push(
        await other.delete(
          '/v1/auth/mfa/totp',
          { password: `oracle-guess-${i}`, otp: await totpCode(secret) },
          { token: accessToken },
        ),
      );
    }
    expect(passwordTries.slice(0, PER_SOURCE).map((r) => r.status)).toEqual(Array(PER_SOURCE).fill(401));
    expectThrottled(passwordTries[PER_SOURCE]!);

    const third = apiFrom(stack.apiUrl, '127.0.0.11');
    const otp = await wrongCode(secret);
    const codeTries: ApiResponse<unknown>[] = [];
    for (let i = 0; i <= PER_SOURCE; i += 1) {
      codeTries.push(
        await third.delete('/v1/auth/mfa/totp', { password: account.password, otp }, { token: accessToken }),
      );
    }
    expect(codeTries.slice(0, PER_SOURCE).map((r) => (r.body as { error: string }).error)).toEqual(
      Array(PER_SOURCE).fill('invalid_otp'),
    );
    expectThrottled(codeTries[PER_SOURCE]!);
  });
});

describe('recovery codes', () => {
  it('issues 120-bit recovery codes (24 base32 characters), each accepted once', async () => {
    const account = await newAccount();
    const { recoveryCodes } = await enableTotp(account);
    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/);
    const withCode = { login: account.email, password: account.password, otp: recoveryCodes[3] };
    expect((await client.post('/v1/auth/login', withCode)).status).toBe(200);
    expect((await client.post('/v1/auth/login', withCode)).body).toMatchObject({ error: 'invalid_otp' });
  });
});

describe('password reset with two-factor', () => {
  it('checks the code before the password policy and limits code guesses per link', async () => {
    const account = await newAccount();
    const { secret, recoveryCodes } = await enableTotp(account);
    expect((await client.post('/v1/auth/password/forgot', { email: account.email })).status).toBe(202);
    const token = await resetToken(account.email);
    const otp = await wrongCode(secret);

    // The current password as the new one: the policy would say same_as_current, which must not answer a link holder.
    const missing = await client.post('/v1/auth/password/reset', { token, newPassword: account.password });
    expect(missing.body).toMatchObject({ error: 'mfa_required' });
    const guesses: ApiResponse<unknown>[] = [];
    for (let i = 0; i <= PER_SOURCE; i += 1) {
      guesses.push(
        await client.post('/v1/auth/password/reset', { token, newPassword: account.password, otp }),
      );
    }
    expect(guesses.slice(0, PER_SOURCE).map((r) => r.status)).toEqual(Array(PER_SOURCE).fill(401));
    expect(guesses.slice(0, PER_SOURCE).map((r) => (r.body as { error: string }).error)).toEqual(
      Array(PER_SOURCE).fill('invalid_otp'),
    );
    expectThrottled(guesses[PER_SOURCE]!);

    // A fresh link is not held back by the guesses made with the old one.
    expect((await client.post('/v1/auth/password/forgot', { email: account.email })).status).toBe(202);
    const fresh = await resetToken(account.email, 2);
    const newPassword = `fresh-${uniqueName('pw')}-lagoon`;
    const done = await client.post('/v1/auth/password/reset', {
      token: fresh,
      newPassword,
      otp: recoveryCodes[0],
    });
    expect(done.status).toBe(200);
  });

  it('does not use up the code of a login refused with password_reset_required', async () => {
    const account = await newAccount();
    const { recoveryCodes } = await enableTotp(account);
    const forced = await client.post(
      `/v1/admin/users/${account.id}/force-reset`,
      { notify: false, revokeSessions: false },
      { token: stack.adminToken },
    );
    expect(forced.status).toBe(202);
    const refused = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
      otp: recoveryCodes[0],
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'password_reset_required' });
    const token = await resetToken(account.email);
    const newPassword = `fresh-${uniqueName('pw')}-valley`;
    const reset = await client.post('/v1/auth/password/reset', { token, newPassword, otp: recoveryCodes[0] });
    expect(reset.status).toBe(200);
  });
});

describe('sign-up', () => {
  it('limits sign-ups per source address', async () => {
    const flood = apiFrom(stack.apiUrl, '127.0.0.12');
    const signUpFrom = (from: ReturnType<typeof apiFrom>) => {
      const username = uniqueName('su');
      return from.post('/v1/accounts', {
        email: `${username.replace(/_/g, '.')}@example.test`,
        username,
        password: `violet-${uniqueName('pw')}-river`,
      });
    };
    for (let i = 0; i < 3; i += 1) expect((await signUpFrom(flood)).status).toBe(201);
    expectThrottled(await signUpFrom(flood));
    expect((await signUpFrom(apiFrom(stack.apiUrl, '127.0.0.13'))).status).toBe(201);
  });
});
