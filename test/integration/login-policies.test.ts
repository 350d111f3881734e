import { hash } from '@node-rs/argon2';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { parseArgon2Params } from '../../shared/crypto/password-hasher.js';
import { SESSION_IDLE_LIFETIME_SECONDS } from '../../shared/domain/session.js';
import { InvalidGrantError } from '../../shared/errors.js';
import type { Clock } from '../../shared/ports/clock.js';
import { login } from '../../shared/use-cases/login.js';
import { refreshSession } from '../../shared/use-cases/sessions.js';
import { type Api, signUp, sleep, uniqueName } from '../support/fixtures.js';
import { api, apiFrom } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;

beforeAll(async () => {
  stack = await startTestStack({ env: { LOGIN_MAX_FAILURES_PER_IP: '6', LOG_LEVEL: 'SILENT' } });
  client = api(stack.apiUrl);
});
afterAll(async () => {
  await stack?.stop();
});

const origin = { ip: '198.51.100.20', userAgent: 'test' };

describe('login policies', () => {
  it('throttles a source IP that fails across many accounts, whatever the accounts', async () => {
    // This file's stack allows 6 failures per IP. The spraying source is an address of this test's own, so the
    // spent budget never reaches another test of the file (whatever runs first, or alone).
    const sprayer = apiFrom(stack.apiUrl, '127.0.0.61');
    for (let i = 0; i < 6; i += 1) {
      const response = await sprayer.post('/v1/auth/login', {
        login: `${uniqueName('spray')}@example.test`,
        password: 'password-spraying-1',
      });
      expect(response.status).toBe(401);
    }
    const account = await signUp(client);
    const blocked = await sprayer.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
    });
    expect(blocked.status).toBe(429);
    // Another source is not affected.
    const elsewhere = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
    });
    expect(elsewhere.status).toBe(200);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('mails a forced-reset account at most once per 15 minutes, however often it tries to sign in', async () => {
    const deps = createDeps(loadConfig(process.env));
    const account = await signUp(client);
    const response = await client.post(
      `/v1/admin/users/${account.id}/force-reset`,
      { notify: false, revokeSessions: false },
      { token: stack.adminToken },
    );
    expect(response.status).toBe(202);
    // Straight to the use-case: three sign-ins of a forced-reset account, from one source.
    for (let i = 0; i < 3; i += 1) {
      await expect(
        login(deps, { login: account.email, password: account.password }, origin),
      ).rejects.toMatchObject({
        code: 'password_reset_required',
      });
    }
    await stack.ses.waitForMail(account.email, { timeoutMs: 10_000 });
    await sleep(2000);
    const mails = await stack.ses.listMail(account.email);
    expect(mails.map((mail) => mail.subject)).toEqual(['Reset your password']);
  });

  it('re-hashes a stored hash made with weaker parameters on the next successful login', async () => {
    const deps = createDeps(loadConfig(process.env));
    const email = `${uniqueName('legacy')}@example.test`;
    const password = 'legacy-harbour-lantern';
    await client.post(
      '/v1/admin/users',
      { email, authMethod: 'password', password },
      { token: stack.adminToken },
    );
    const user = (await deps.users.findByIdentifier({ kind: 'email', value: email }))!;
    // Imported from an older system: argon2id at a fraction of today's memory cost.
    const weak = await hash(password, {
      algorithm: 2 /* Argon2id */,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    expect(await deps.users.replacePasswordHash(user.userId, user.passwordHash!, weak)).toBe(true);

    await login(deps, { login: email, password }, origin);

    const upgraded = (await deps.users.get(user.userId))!;
    expect(parseArgon2Params(upgraded.passwordHash!)).toEqual({
      memoryCost: 19456,
      timeCost: 2,
      parallelism: 1,
    });
    await login(deps, { login: email, password }, origin);
  });

  it('ends a session that was not used for 30 days', async () => {
    let now = new Date();
    const clock: Clock = { now: () => now };
    const deps = createDeps(loadConfig(process.env), undefined, clock);
    const account = await signUp(client);
    const tokens = await login(deps, { login: account.email, password: account.password }, origin);
    now = new Date(now.getTime() + (SESSION_IDLE_LIFETIME_SECONDS - 60) * 1000);
    const kept = await refreshSession(deps, tokens.refreshToken, origin);
    now = new Date(now.getTime() + SESSION_IDLE_LIFETIME_SECONDS * 1000 + 1000);
    await expect(refreshSession(deps, kept.refreshToken, origin)).rejects.toBeInstanceOf(InvalidGrantError);
  });
});
