/** Two-factor and password-reset rules on the in-memory adapters (the emulator suites cover DynamoDB). */
import { sha256Hex } from '../../shared/crypto/secrets.js';
import {
  ForbiddenError,
  InvalidCredentialsError,
  InvalidOtpError,
  InvalidResetTokenError,
  MfaRequiredError,
  TooManyRequestsError,
} from '../../shared/errors.js';
import { authenticate } from '../../shared/use-cases/authenticate.js';
import { login } from '../../shared/use-cases/login.js';
import { confirmTotp, disableTotp, setupTotp } from '../../shared/use-cases/mfa.js';
import { forgotPassword, resetPassword } from '../../shared/use-cases/password.js';
import { refreshSession } from '../../shared/use-cases/sessions.js';
import { origin, seedPasswordAccount, totpCode } from '../support/in-memory/accounts.js';
import { type AuthWorld, createAuthWorld } from '../support/in-memory/world.js';

async function withTotp(world: AuthWorld) {
  const account = await seedPasswordAccount(world);
  const { secret } = await setupTotp(world.deps, account.user.userId, account.password, origin);
  const { recoveryCodes } = await confirmTotp(
    world.deps,
    account.user.userId,
    await totpCode(world, secret),
    origin,
  );
  world.advance(30_000);
  return { ...account, secret, recoveryCodes };
}

describe('TOTP enable and disable', () => {
  it('turns two-factor on only with a code of the pending secret, and hands out ten recovery codes once', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    const { secret, otpauthUri } = await setupTotp(world.deps, user.userId, password, origin);
    expect(otpauthUri).toContain(`secret=${secret}`);
    expect(world.users.users.get(user.userId)?.totpPendingSecret).not.toContain(secret);

    await expect(confirmTotp(world.deps, user.userId, '000000', origin)).rejects.toBeInstanceOf(
      InvalidOtpError,
    );
    const { recoveryCodes } = await confirmTotp(
      world.deps,
      user.userId,
      await totpCode(world, secret),
      origin,
    );

    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/);
    const stored = world.users.users.get(user.userId)!;
    expect(stored).toMatchObject({ mfaEnabled: true });
    expect(stored.totpPendingSecret).toBeUndefined();
    expect(JSON.stringify(stored)).not.toContain(recoveryCodes[0]);
    expect(world.events.types(user.userId)).toEqual(['mfa_enabled']);
    expect(world.notifications.messages).toEqual([expect.objectContaining({ notice: 'mfa_enabled' })]);
    await expect(setupTotp(world.deps, user.userId, password, origin)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('asks for the password before a setup, through the sign-in limiter', async () => {
    const world = await createAuthWorld();
    const { user } = await seedPasswordAccount(world);
    for (let i = 0; i < world.deps.config.attempts.perAccountAndSource; i += 1) {
      await expect(setupTotp(world.deps, user.userId, `wrong-${i}`, origin)).rejects.toBeInstanceOf(
        InvalidCredentialsError,
      );
    }
    await expect(setupTotp(world.deps, user.userId, 'wrong', origin)).rejects.toBeInstanceOf(
      TooManyRequestsError,
    );
  });

  it('turns two-factor off with the password and a current code, using the code up', async () => {
    const world = await createAuthWorld();
    const { user, password, secret } = await withTotp(world);
    await expect(
      disableTotp(world.deps, user.userId, { password, otp: '000000' }, origin),
    ).rejects.toBeInstanceOf(InvalidOtpError);
    await disableTotp(world.deps, user.userId, { password, otp: await totpCode(world, secret) }, origin);

    expect(world.users.users.get(user.userId)).toMatchObject({ mfaEnabled: false });
    expect(world.users.users.get(user.userId)?.totpSecret).toBeUndefined();
    expect(world.events.types(user.userId)).toEqual(['mfa_enabled', 'second_factor_failed', 'mfa_disabled']);
    await expect(login(world.deps, { login: user.email, password }, origin)).resolves.toBeDefined();
  });
});

describe('recovery codes', () => {
  it('signs in once per recovery code, ignoring case, spaces and dashes, and records how many remain', async () => {
    const world = await createAuthWorld();
    const { user, password, recoveryCodes } = await withTotp(world);
    const code = recoveryCodes[3]!;
    const typed = ` ${code.toUpperCase().replaceAll('-', ' ')} `;

    await expect(
      login(world.deps, { login: user.email, password, otp: typed }, origin),
    ).resolves.toBeDefined();
    await expect(
      login(world.deps, { login: user.email, password, otp: code }, origin),
    ).rejects.toBeInstanceOf(InvalidOtpError);
    expect(world.users.users.get(user.userId)?.recoveryCodeHashes).toHaveLength(9);
    expect(world.events.of(user.userId).find((e) => e.type === 'recovery_code_used')?.detail).toEqual({
      remaining: 9,
    });
    await expect(
      login(world.deps, { login: user.email, password, otp: recoveryCodes[4] }, origin),
    ).resolves.toBeDefined();
  });
});

describe('password reset', () => {
  async function requestReset(world: AuthWorld, userId: string) {
    // What the notifier mints for a password account (the API itself only queues the request).
    const token = `reset-${world.resetTokens.tokens.size}-${'k'.repeat(40)}`;
    await world.resetTokens.create(sha256Hex(token), userId, new Date(world.now()));
    world.advance(1000);
    return token;
  }

  it('queues the same request whatever the address, and limits requests per source', async () => {
    const world = await createAuthWorld({ env: { FORGOT_PASSWORD_MAX_PER_IP_PER_HOUR: '2' } });
    const { user } = await seedPasswordAccount(world);
    await forgotPassword(world.deps, user.email.toUpperCase(), origin);
    await forgotPassword(world.deps, 'nobody@example.test', origin);
    expect(world.notifications.messages.map((m) => (m as { email?: string }).email)).toEqual([
      user.email,
      'nobody@example.test',
    ]);
    await expect(forgotPassword(world.deps, user.email, origin)).rejects.toBeInstanceOf(TooManyRequestsError);
  });

  it('sets the new password once per token, signs out every device when asked, and clears the limiter', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world, { mustResetPassword: true });
    world.users.users.set(user.userId, { ...world.users.users.get(user.userId)!, mustResetPassword: false });
    const session = await login(world.deps, { login: user.email, password }, origin);
    world.users.users.set(user.userId, { ...world.users.users.get(user.userId)!, mustResetPassword: true });
    await login(
      world.deps,
      { login: user.email, password: 'wrong' },
      { ...origin, ip: '198.51.100.4' },
    ).catch(() => undefined);
    const token = await requestReset(world, user.userId);
    const newPassword = 'amber-harbour-lantern-77';

    await expect(
      resetPassword(world.deps, { token, newPassword, signOutAllDevices: true }, origin),
    ).resolves.toEqual({ signedOutAllDevices: true });

    await expect(
      resetPassword(
        world.deps,
        { token, newPassword: 'another-long-passphrase', signOutAllDevices: false },
        origin,
      ),
    ).rejects.toBeInstanceOf(InvalidResetTokenError);
    expect(world.users.users.get(user.userId)).toMatchObject({ mustResetPassword: false, tokenVersion: 1 });
    await expect(authenticate(world.deps, session.accessToken)).rejects.toBeDefined();
    await expect(refreshSession(world.deps, session.refreshToken, origin)).rejects.toBeDefined();
    expect(world.attempts.count(`user:${user.userId}`, 'password@')).toBe(0);
    expect(world.events.types(user.userId)).toContain('password_reset_completed');
    expect(world.notifications.messages.at(-1)).toMatchObject({ notice: 'password_changed' });
    await expect(login(world.deps, { login: user.email, password }, origin)).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
    await expect(
      login(world.deps, { login: user.email, password: newPassword }, origin),
    ).resolves.toBeDefined();
  });

  it('keeps other devices signed in without sign-out, and kills tokens minted before the reset', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    const session = await login(world.deps, { login: user.email, password }, origin);
    const older = await requestReset(world, user.userId);
    const newer = await requestReset(world, user.userId);

    await resetPassword(
      world.deps,
      { token: newer, newPassword: 'amber-harbour-lantern-77', signOutAllDevices: false },
      origin,
    );

    await expect(authenticate(world.deps, session.accessToken)).resolves.toBeDefined();
    await expect(
      resetPassword(
        world.deps,
        { token: older, newPassword: 'copper-meadow-falcon-9', signOutAllDevices: false },
        origin,
      ),
    ).rejects.toBeInstanceOf(InvalidResetTokenError);
  });

  it('refuses expired and unknown tokens, and weak or current passwords without using the token up', async () => {
    const world = await createAuthWorld();
    const { user, password } = await seedPasswordAccount(world);
    const token = await requestReset(world, user.userId);
    await expect(
      resetPassword(
        world.deps,
        { token: 'made-up', newPassword: 'amber-harbour-lantern-77', signOutAllDevices: false },
        origin,
      ),
    ).rejects.toBeInstanceOf(InvalidResetTokenError);
    await expect(
      resetPassword(world.deps, { token, newPassword: password, signOutAllDevices: false }, origin),
    ).rejects.toMatchObject({ status: 422 });
    await expect(
      resetPassword(world.deps, { token, newPassword: 'password123456', signOutAllDevices: false }, origin),
    ).rejects.toMatchObject({ status: 422 });

    world.advance(31 * 60_000);
    await expect(
      resetPassword(
        world.deps,
        { token, newPassword: 'amber-harbour-lantern-77', signOutAllDevices: false },
        origin,
      ),
    ).rejects.toBeInstanceOf(InvalidResetTokenError);
  });

  it('asks an account with two-factor for a code, limited per link, and uses the code up', async () => {
    const world = await createAuthWorld();
    const { user, secret } = await withTotp(world);
    const token = await requestReset(world, user.userId);
    const input = { token, newPassword: 'amber-harbour-lantern-77', signOutAllDevices: true };

    await expect(resetPassword(world.deps, input, origin)).rejects.toBeInstanceOf(MfaRequiredError);
    for (let i = 0; i < world.deps.config.attempts.perAccountAndSource; i += 1) {
      await expect(resetPassword(world.deps, { ...input, otp: `00000${i}` }, origin)).rejects.toBeInstanceOf(
        InvalidOtpError,
      );
    }
    await expect(
      resetPassword(world.deps, { ...input, otp: await totpCode(world, secret) }, origin),
    ).rejects.toBeInstanceOf(TooManyRequestsError);

    // The per-link limit holds for the link's whole life, not per 15-minute window.
    world.advance(16 * 60_000);
    await expect(
      resetPassword(world.deps, { ...input, otp: await totpCode(world, secret) }, origin),
    ).rejects.toBeInstanceOf(TooManyRequestsError);

    const second = await requestReset(world, user.userId);
    const otp = await totpCode(world, secret);
    await resetPassword(world.deps, { ...input, token: second, otp }, origin);
    expect(world.users.users.get(user.userId)?.totpLastStep).toBe(Math.floor(world.now() / 30_000));
  });
});
