import { randomBytes } from 'node:crypto';
import type { api } from './http.js';

export type Api = ReturnType<typeof api>;

export interface TestAccount {
  readonly email: string;
  readonly username: string;
  readonly password: string;
  readonly id: string;
}

export interface Tokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly sessionId: string;
  readonly expiresIn: number;
  readonly tokenType: string;
  readonly user: Record<string, unknown>;
}

/** Unique per call, so tests sharing a stack (and the SES store) never collide. */
export function uniqueName(prefix = 'user'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function signUp(
  client: Api,
  overrides: Partial<Omit<TestAccount, 'id'>> = {},
): Promise<TestAccount> {
  const username = overrides.username ?? uniqueName();
  const account = {
    email: overrides.email ?? `${username.replace(/_/g, '.')}@example.test`,
    username,
    password: overrides.password ?? `violet-${randomBytes(6).toString('hex')}-river`,
  };
  const response = await client.post<{ user: { id: string } }>('/v1/accounts', account);
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${response.text}`);
  return { ...account, id: response.body.user.id };
}

export async function logIn(
  client: Api,
  account: Pick<TestAccount, 'email' | 'password'>,
  extra: Record<string, unknown> = {},
): Promise<Tokens> {
  const response = await client.post<Tokens>('/v1/auth/login', {
    login: account.email,
    password: account.password,
    ...extra,
  });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${response.text}`);
  return response.body;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
