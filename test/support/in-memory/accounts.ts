import { generate } from 'otplib';
import type { UserRecord } from '../../../shared/domain/user.js';
import type { TokenResponse } from '../../../shared/use-cases/session-tokens.js';
import type { AuthWorld } from './world.js';

export const origin = { ip: '203.0.113.7', userAgent: 'unit test' };

/** A password account stored directly (sign-up has its own tests); returns what the tests need of it. */
export async function seedPasswordAccount(
  world: AuthWorld,
  overrides: Partial<UserRecord> = {},
  password = 'violet-river-canyon-42',
): Promise<{ user: UserRecord; password: string }> {
  const at = new Date(world.now() - 86_400_000);
  const user: UserRecord = {
    userId: `user-${world.users.users.size + 1}`,
    email: `owner${world.users.users.size + 1}@example.test`,
    username: `owner_${world.users.users.size + 1}`,
    authMethod: 'password',
    passwordHash: await world.hasher.hash(password),
    passwordSetAt: at.getTime(),
    tokenVersion: 0,
    mustResetPassword: false,
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    ...overrides,
  };
  await world.users.create(user);
  return { user, password };
}

/** The TOTP code of a given step offset from the world's clock (30 s steps, as the contract pins them). */
export function totpCode(world: AuthWorld, secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(world.now() / 1000) + offsetSteps * 30 });
}

/** The TOTP secret of an account with two-factor on, opened from its sealed form. */
export async function totpSecretOf(world: AuthWorld, userId: string): Promise<string> {
  const sealed = world.users.users.get(userId)!.totpSecret!;
  return world.deps.secretBox.open(sealed, `totp:${userId}`);
}

export const sessionIdOf = (tokens: TokenResponse) => tokens.sessionId;
