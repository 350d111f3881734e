/**
 * Sign-in rules on the in-memory adapters (test/support/in-memory/): the DynamoDB semantics themselves are covered
 * by the emulator suites in test/integration/.
 */
import {
  InvalidCredentialsError,
  InvalidOtpError,
  MfaRequiredError,
  PasswordResetRequiredError,
  TooManyRequestsError,
} from '../../shared/errors.js';
import { authenticate } from '../../shared/use-cases/authenticate.js';
import { login } from '../../shared/use-cases/login.js';
import { confirmTotp, setupTotp } from '../../shared/use-cases/mfa.js';
import { origin, seedPasswordAccount, totpCode } from '../support/in-memory/accounts.js';
import { createAuthWorld } from '../support/in-memory/world.js';

const limits = (world: Awaited<ReturnType<typeof createAuthWorld>>) => world.deps.config.attempts;

describe('login', () => {
  it('starts a session with a working access token, one event and the source remembered', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);

    const tokens = await login(world.deps, { login: user.email, password, deviceName: 'laptop' }, origin);

    expect(tokens).toMatchObject({ tokenType: 'Bearer', user: { id: user.userId, email: user.email } });
    await expect(authenticate(world.deps, tokens.accessToken)).resolves.toMatchObject({
      userId: user.userId,
      sessionId: tokens.sessionId,
    });
    expect(world.sessions.sessions.get(`${user.userId}|${tokens.sessionId}`)).toMatchObject({
      deviceName: 'laptop',
    });
    expect(world.events.of(user.userId)).toEqual([
      expect.objectContaining({
        type: 'login_succeeded',
        ip: origin.ip,
        detail: { sessionId: tokens.sessionId, deviceName: 'laptop' },
      }),
    ]);
    await expect(
      world.deps.attempts.isKnownSource(`user:${user.userId}`, origin.ip, world.now()),
    ).resolves.toBe(true);
  });

  it('accepts the username as well as the email, case-insensitively', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    await expect(
      login(world.deps, { login: user.username!.toUpperCase(), password }, origin),
    ).resolves.toBeDefined();
    await expect(
      login(world.deps, { login: user.email.toUpperCase(), password }, origin),
    ).resolves.toBeDefined();
  });

  it('answers a wrong password and an unknown account alike, after the same number of argon2 checks', async () => {
    const world = await createAuthWorld();
    const { user } = await seedPasswordAccount(world);

    await expect(
      login(world.deps, { login: user.email, password: 'not-the-password' }, origin),
    ).rejects.toEqual(new InvalidCredentialsError());
    await expect(
      login(world.deps, { login: 'nobody@example.test', password: 'not-the-password' }, origin),
    ).rejects.toEqual(new InvalidCredentialsError());

    expect(world.hasher.checks).toBe(2);
    // Both read an account item (the unknown one a key no account has) and the tenant policy.
    expect(world.users.reads).toEqual([user.userId, 'no-such-user']);
    expect(world.tenantPolicy.reads).toBe(2);
    expect(world.events.types(user.userId)).toEqual(['login_failed']);
    expect(world.sessions.sessions.size).toBe(0);
  });

  it('gives a right password its attempts back, and leaves a wrong one counted', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    const subject = `user:${user.userId}`;

    await login(world.deps, { login: user.email, password: 'wrong' }, origin).catch(() => undefined);
    expect(world.attempts.count(subject, `password@${origin.ip}`)).toBe(1);
    expect(world.attempts.count(`ip:${origin.ip}`, 'password@any')).toBe(1);

    await login(world.deps, { login: user.email, password }, origin);
    // The sign-in reset this source's counter; the spraying counter got the right attempt back.
    expect(world.attempts.count(subject, `password@${origin.ip}`)).toBe(0);
    expect(world.attempts.count(`ip:${origin.ip}`, 'password@any')).toBe(1);
  });

  it('refuses the attempt after the per-source limit before any argon2 check, with Retry-After', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    for (let i = 0; i < limits(world).perAccountAndSource; i += 1) {
      await login(world.deps, { login: user.email, password: `wrong-${i}` }, origin).catch(() => undefined);
    }
    const checks = world.hasher.checks;

    const refused = await login(world.deps, { login: user.email, password }, origin).catch((e: unknown) => e);

    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect(Number((refused as TooManyRequestsError).headers['retry-after'])).toBeGreaterThan(0);
    expect(world.hasher.checks).toBe(checks);
    // Another source still gets in.
    await expect(
      login(world.deps, { login: user.email, password }, { ...origin, ip: '198.51.100.2' }),
    ).resolves.toBeDefined();
  });

  it('counts unknown identifiers per identifier, so throttling does not tell whether an account exists', async () => {
    const world = await createAuthWorld();
    const outcome = async (login_: string) =>
      login(world.deps, { login: login_, password: 'guess' }, origin).catch((e: { code?: string }) => e.code);
    const unknown: unknown[] = [];
    for (let i = 0; i <= limits(world).perAccountAndSource; i += 1)
      unknown.push(await outcome('ghost@example.test'));
    expect(unknown.at(-1)).toBe('too_many_requests');
    expect(unknown.slice(0, -1).every((code) => code === 'invalid_credentials')).toBe(true);
    await expect(outcome('other-ghost@example.test')).resolves.toBe('invalid_credentials');
  });

  it('limits one source across many accounts (password spraying)', async () => {
    const world = await createAuthWorld({ env: { LOGIN_MAX_FAILURES_PER_IP: '3' } });
    const codes: unknown[] = [];
    for (let i = 0; i < 4; i += 1) {
      codes.push(
        await login(world.deps, { login: `spray${i}@example.test`, password: 'Summer2026!' }, origin).catch(
          (e: { code?: string }) => e.code,
        ),
      );
    }
    expect(codes).toEqual([
      'invalid_credentials',
      'invalid_credentials',
      'invalid_credentials',
      'too_many_requests',
    ]);
    expect(world.hasher.checks).toBe(3);
  });

  it('refuses an account that must reset (flag or tenant cut-off), queues the reset mail, starts no session', async () => {
    const world = await createAuthWorld();
    const flagged = await seedPasswordAccount(world, { mustResetPassword: true });
    const older = await seedPasswordAccount(world);
    world.tenantPolicy.policy = { forceResetPasswordsSetBefore: world.now() - 1000 };

    for (const account of [flagged, older]) {
      await expect(
        login(world.deps, { login: account.user.email, password: account.password }, origin),
      ).rejects.toBeInstanceOf(PasswordResetRequiredError);
      expect(world.events.of(account.user.userId)).toEqual([
        expect.objectContaining({ type: 'login_failed', detail: { reason: 'password_reset_required' } }),
      ]);
    }
    expect(world.notifications.messages).toEqual([
      expect.objectContaining({
        type: 'password_reset_request',
        reason: 'forced',
        email: flagged.user.email,
      }),
      expect.objectContaining({ type: 'password_reset_request', reason: 'forced', email: older.user.email }),
    ]);
    expect(world.sessions.sessions.size).toBe(0);
  });

  it('decides again when an incident forces resets while the sign-in runs, and writes nothing', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    // The incident lands right after the sign-in read the policy, before its transaction.
    world.tenantPolicy.onRead = () => {
      world.tenantPolicy.onRead = undefined;
      world.tenantPolicy.policy = {
        forceResetPasswordsSetBefore: world.now(),
        revokeTokensIssuedBefore: world.now(),
      };
    };

    await expect(login(world.deps, { login: user.email, password }, origin)).rejects.toBeInstanceOf(
      PasswordResetRequiredError,
    );
    expect(world.sessions.sessions.size).toBe(0);
    expect(world.events.types(user.userId)).toEqual(['login_failed']);
    await expect(
      world.deps.attempts.isKnownSource(`user:${user.userId}`, origin.ip, world.now()),
    ).resolves.toBe(false);
  });

  it('starts the session after a revocation cut-off that moved during the sign-in', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    const cutOff = world.now() + 400;
    world.tenantPolicy.onRead = () => {
      world.tenantPolicy.onRead = undefined;
      world.tenantPolicy.policy = { revokeTokensIssuedBefore: cutOff };
    };

    const tokens = await login(world.deps, { login: user.email, password }, origin);

    expect(world.sessions.sessions.get(`${user.userId}|${tokens.sessionId}`)?.createdAtMs).toBe(cutOff);
    await expect(authenticate(world.deps, tokens.accessToken)).resolves.toBeDefined();
  });

  it('upgrades a hash made with older parameters, once the password is proved', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    const oldHash = `old$${(await world.hasher.hash(password)).slice('fast$'.length)}`;
    world.users.users.set(user.userId, { ...user, passwordHash: oldHash });

    await login(world.deps, { login: user.email, password }, origin);

    expect(world.users.users.get(user.userId)?.passwordHash).toBe(await world.hasher.hash(password));
  });

  it('flags a password found in a breach corpus and walks into the forced reset', async () => {
    const world = await createAuthWorld({ breachedPasswords: { isBreached: async () => true } });
    const { user, password } = await seedPasswordAccount(world);

    await expect(login(world.deps, { login: user.email, password }, origin)).rejects.toBeInstanceOf(
      PasswordResetRequiredError,
    );
    expect(world.users.users.get(user.userId)?.mustResetPassword).toBe(true);
    expect(world.events.types(user.userId)).toEqual(['breached_password_detected', 'login_failed']);
  });
});

describe('login with two-factor authentication', () => {
  async function withTotp() {
    const world = await createAuthWorld();
    const account = await seedPasswordAccount(world);
    const { secret } = await setupTotp(world.deps, account.user.userId, account.password, origin);
    await confirmTotp(world.deps, account.user.userId, await totpCode(world, secret), origin);
    world.advance(30_000);
    return { world, ...account, secret };
  }

  it('asks for the code after the right password, and signs in with it', async () => {
    const { world, user, password, secret } = await withTotp();
    await expect(login(world.deps, { login: user.email, password }, origin)).rejects.toBeInstanceOf(
      MfaRequiredError,
    );
    const otp = await totpCode(world, secret);
    await expect(login(world.deps, { login: user.email, password, otp }, origin)).resolves.toBeDefined();
  });

  it('accepts each time step once: a replayed or older code is refused', async () => {
    const { world, user, password, secret } = await withTotp();
    const otp = await totpCode(world, secret);
    await login(world.deps, { login: user.email, password, otp }, origin);

    await expect(login(world.deps, { login: user.email, password, otp }, origin)).rejects.toBeInstanceOf(
      InvalidOtpError,
    );
    const previous = await totpCode(world, secret, -1);
    await expect(
      login(world.deps, { login: user.email, password, otp: previous }, origin),
    ).rejects.toBeInstanceOf(InvalidOtpError);
    world.advance(30_000);
    await expect(
      login(world.deps, { login: user.email, password, otp: await totpCode(world, secret) }, origin),
    ).resolves.toBeDefined();
  });

  it('warns the owner once when their password comes with a wrong code', async () => {
    const { world, user, password } = await withTotp();
    world.notifications.messages.length = 0;
    for (const otp of ['000000', '111111']) {
      await expect(login(world.deps, { login: user.email, password, otp }, origin)).rejects.toBeInstanceOf(
        InvalidOtpError,
      );
    }
    expect(world.notifications.messages).toEqual([
      expect.objectContaining({ type: 'security_notice', notice: 'second_factor_failed' }),
    ]);
    expect(world.events.types(user.userId).filter((t) => t === 'second_factor_failed')).toHaveLength(2);
  });

  it('leaves the code unused when the sign-in is refused for a forced reset', async () => {
    const { world, user, password, secret } = await withTotp();
    const otp = await totpCode(world, secret);
    world.tenantPolicy.policy = { forceResetPasswordsSetBefore: world.now() };
    await expect(login(world.deps, { login: user.email, password, otp }, origin)).rejects.toBeInstanceOf(
      PasswordResetRequiredError,
    );
    expect(world.users.users.get(user.userId)?.totpLastStep).toBeLessThan(Math.floor(world.now() / 30_000));
  });

  it('clears every counter of the account after a sign-in with the second factor', async () => {
    const { world, user, password, secret } = await withTotp();
    const subject = `user:${user.userId}`;
    await login(
      world.deps,
      { login: user.email, password: 'wrong' },
      { ...origin, ip: '198.51.100.9' },
    ).catch(() => undefined);
    expect(world.attempts.count(subject, 'password@198.51.100.9')).toBe(1);
    await login(world.deps, { login: user.email, password, otp: await totpCode(world, secret) }, origin);
    expect(world.attempts.count(subject, 'password@')).toBe(0);
  });
});
